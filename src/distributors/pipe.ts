/**
 * `type: pipe` — hands each post to a program on its standard input, once per post: an
 * external archiver (public-inbox-mda, MHonArc, Hypermail), a search indexer, a script.
 * Mailman's "external archiver" and Postfix's pipe(8) do the same. The program's exit code
 * says what happened, as for sendmail: 0 taken, 67/68 never, anything else (a timeout too)
 * later. Like sendmail, it keeps no record of its own: play()'s journal stops a repeat.
 *
 * The environment tells the program who the post is for without parsing it:
 * MALIST_LIST, MALIST_SENDER, MALIST_MESSAGE_ID, MALIST_RECIPIENTS (space-separated).
 */
import { z } from 'zod';
import { ErrorCode, StageError } from '../errors.ts';
import { mailBytes, messageId } from '../mail/list-mail.ts';
import type { DeliveryReport, Distributor, ListMail } from '../types.ts';
import { runWithInput, statusOfExit } from './run-command.ts';

export interface PipeOptions {
  /** The program (an absolute path, or a name found on PATH). */
  command: string;
  /** Its arguments. @default [] */
  args?: string[];
  /** Kill the program after this long and defer the post, ms. @default 60000 */
  timeout_ms?: number;
}

/** The options of `type: pipe` as written in YAML, checked before the factory runs. */
export const schema = z.strictObject({
  command: z.string().min(1),
  args: z.array(z.string()).optional(),
  timeout_ms: z.number().int().positive().optional(),
});

/** The pipe distributor: one run of `command` per post. */
export default function createPipeDistributor(options: PipeOptions): Distributor {
  if (!options?.command) throw new Error('pipe distributor: `command` is required');
  const name = 'pipe';
  return {
    name,
    async distribute(mail: ListMail): Promise<DeliveryReport> {
      const to = mail.ml_send_to ?? [];
      const env = {
        ...process.env,
        MALIST_LIST: mail.ml_list_name ?? '',
        MALIST_SENDER: mail.ml_sender ?? '',
        MALIST_MESSAGE_ID: messageId(mail) ?? '',
        MALIST_RECIPIENTS: to.join(' '),
      };
      let outcome: { code: number | null; stderr: string };
      try {
        outcome = await runWithInput(
          options.command,
          options.args ?? [],
          mailBytes(mail),
          options.timeout_ms ?? 60_000,
          env,
        );
      } catch (error) {
        throw new StageError(`cannot run ${options.command}; the post was not handed over`, {
          code: ErrorCode.CONFIG,
          unit: name,
          messageId: messageId(mail),
          cause: error,
          temporary: true,
        });
      }
      const status = statusOfExit(outcome.code);
      const response = `${options.command} exited with ${outcome.code ?? 'a signal (timeout?)'}${outcome.stderr ? `: ${outcome.stderr}` : ''}`;
      return {
        results: to.map((recipient) => ({ recipient, status, distributor: name, response })),
      };
    },
  };
}
