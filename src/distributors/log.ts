/**
 * `type: log` — writes one line per recipient instead of sending (marrow.mailer's log
 * transport): for dry runs, demos and audits. Lines go to stderr, or are appended to a file.
 */
import { appendFile } from 'node:fs/promises';
import { z } from 'zod';
import { isoTime } from '../mail/iso-time.ts';
import { mailBytes, messageId } from '../mail/list-mail.ts';
import type { DeliveryReport, Distributor, ListMail } from '../types.ts';

export interface LogOptions {
  /** Append to this file instead of writing to stderr. */
  file?: string;
  /** `text` (one readable line) or `json` (one object per line). @default 'text' */
  format?: 'text' | 'json';
}

/** The options of `type: log` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = z.strictObject({
  file: z.string().min(1).optional(),
  format: z.enum(['text', 'json']).optional(),
});

export default function createLogDistributor(options: LogOptions = {}): Distributor {
  return {
    name: 'log',
    async distribute(mail: ListMail): Promise<DeliveryReport> {
      const to = mail.ml_send_to?.length ? mail.ml_send_to : ['-'];
      const common = {
        time: isoTime(Date.now()),
        list: mail.ml_list_name ?? '',
        message_id: messageId(mail) ?? '',
        sender: mail.ml_sender ?? '',
        size: mailBytes(mail).length,
      };
      const lines = to
        .map((recipient) =>
          options.format === 'json'
            ? JSON.stringify({ ...common, recipient })
            : `${common.time} list=${common.list || '-'} from=<${common.sender}> to=<${recipient}> ` +
              `size=${common.size} message-id=<${common.message_id}>`,
        )
        .join('\n');
      if (options.file) await appendFile(options.file, `${lines}\n`, { mode: 0o640 });
      else process.stderr.write(`${lines}\n`);
      return {
        results: (mail.ml_send_to ?? []).map((recipient) => ({
          recipient,
          status: 'delivered' as const,
          distributor: 'log',
          response: 'logged, not sent',
        })),
      };
    },
  };
}
