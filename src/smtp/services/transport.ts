/**
 * A sending service's transport for the queue (`engine: ses | mailgun`), its module imported
 * when it first sends: the queue distributor is loaded by every `malist receive` that
 * queues, and SES's and Mailgun's modules, aws4 among them (~20 KB of the receive script),
 * only by a queue that sends through one.
 */
import type { SendJob, Transport } from '../../queue/transport.ts';
import type { RecipientResult } from '../../types.ts';
import { sesCredentials } from './credentials.ts';
import type { MailgunOptions } from './mailgun.ts';
import type { SesOptions } from './ses.ts';

export type ServiceChoice =
  | { engine: 'ses'; ses: SesOptions }
  | { engine: 'mailgun'; mailgun: MailgunOptions };

/**
 * The transport of `choice`. Throws at once when SES has no credentials, as the SES
 * transport itself does.
 */
export function serviceTransport(choice: ServiceChoice, env = process.env): Transport {
  if (choice.engine === 'ses') sesCredentials(choice.ses, env);
  let made: Promise<Transport> | undefined;
  const transport = () => {
    made ??=
      choice.engine === 'ses'
        ? import('./ses.ts').then((m) => m.createSesTransport(choice.ses, env))
        : import('./mailgun.ts').then((m) => m.createMailgunTransport(choice.mailgun));
    return made;
  };
  return {
    name: choice.engine,
    async send(job: SendJob): Promise<RecipientResult[]> {
      return (await transport()).send(job);
    },
    async close() {
      if (made) await (await made).close();
    },
  };
}
