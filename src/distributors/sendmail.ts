/**
 * `type: sendmail` — hands the post to a sendmail-compatible binary (Postfix, Exim, msmtp):
 * `sendmail -i -f SENDER -- RCPT…` with the bytes on stdin. The recipients are arguments,
 * never `-t`, so the envelope is exactly ml_send_to (Bcc-style recipients are never lost).
 * Exit 0 means the MTA took the mail (`delivered` as far as malist is concerned); sysexits
 * 67/68 (no such user/host) are final; anything else, a timeout included, is deferred.
 * The MTA owns the mail once it exits 0: a repeat after a crash sends again, so put this
 * behind the caller's journal (play() does that).
 */
import { z } from 'zod';
import { ErrorCode, StageError } from '../errors.ts';
import { envelopeOf, mailBytes, messageId } from '../mail/list-mail.ts';
import type { DeliveryReport, Distributor, ListMail } from '../types.ts';
import { runWithInput, statusOfExit } from './run-command.ts';

export interface SendmailOptions {
  /** The binary. @default '/usr/sbin/sendmail' */
  path?: string;
  /** Extra arguments before the envelope ones (e.g. `['-C', '/etc/msmtprc']`). @default [] */
  args?: string[];
  /** Kill the binary after this long and defer, ms. @default 120000 */
  timeout_ms?: number;
}

/** The options of `type: sendmail` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = z.strictObject({
  path: z.string().min(1).optional(),
  args: z.array(z.string()).optional(),
  timeout_ms: z.number().int().positive().optional(),
});

export default function createSendmailDistributor(options: SendmailOptions = {}): Distributor {
  const path = options.path ?? '/usr/sbin/sendmail';
  return {
    name: 'sendmail',
    async distribute(mail: ListMail): Promise<DeliveryReport> {
      const { from, to } = envelopeOf(mail, 'sendmail');
      const args = [...(options.args ?? []), '-i', '-f', from === '' ? '<>' : from, '--', ...to];
      let outcome: { code: number | null; stderr: string };
      try {
        outcome = await runWithInput(path, args, mailBytes(mail), options.timeout_ms ?? 120_000);
      } catch (error) {
        throw new StageError(`cannot run ${path}; nothing was sent`, {
          code: ErrorCode.CONFIG,
          unit: 'sendmail',
          messageId: messageId(mail),
          cause: error,
          temporary: true,
        });
      }
      const status = statusOfExit(outcome.code);
      const response = `${path} exited with ${outcome.code ?? 'a signal (timeout?)'}${outcome.stderr ? `: ${outcome.stderr}` : ''}`;
      return {
        results: to.map((recipient) => ({ recipient, status, distributor: 'sendmail', response })),
      };
    },
  };
}
