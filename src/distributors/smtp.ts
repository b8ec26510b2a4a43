/**
 * Sends a list mail straight over SMTP (smtp/nodemailer.ts), without the durable queue.
 * Deferred recipients are reported, not retried, and a repeat after a crash sends again:
 * use the `queue` distributor for crash-safe, exactly-once delivery.
 */

import { envelopeOf, mailBytes, messageId } from '../mail/list-mail.ts';
import { createSmtpTransport } from '../smtp/nodemailer.ts';
import { smtpDeprecations, smtpSchema } from '../smtp/schema.ts';
import type { SmtpOptions } from '../smtp/server-options.ts';
import type { DeliveryReport, Distributor, ListMail } from '../types.ts';

/** The options of `type: smtp` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = smtpSchema;

/** The old TLS keys (`secure`, `starttls`, `tls.ca`) written for this unit, with their new spelling. */
export const deprecated = (options: Record<string, unknown>) => smtpDeprecations(options);

/**
 * Sends a list mail straight over SMTP, without the durable queue. Deferred recipients are
 * reported, not retried: prefer `queue` unless the caller keeps its own records.
 */
export default function createSmtpDistributor(options: SmtpOptions = {}): Distributor {
  const transport = createSmtpTransport(options);
  return {
    name: 'smtp',
    async distribute(mail: ListMail): Promise<DeliveryReport> {
      const { from, to } = envelopeOf(mail, 'smtp');
      const results = await transport.send({
        from,
        to,
        raw: mailBytes(mail),
        messageId: messageId(mail),
      });
      return { results };
    },
    close: () => transport.close(),
  };
}
