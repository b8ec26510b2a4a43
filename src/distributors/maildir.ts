/**
 * `type: maildir` — delivers by writing one file per recipient into `dir/<recipient>/new/`,
 * so the whole product runs without a server (the demo, tests, local archives).
 * Idempotent: the file name is derived from the mail's key and list, so a repeat after a
 * crash finds the copy already there and does not deliver twice.
 */
import { access, mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { mailBytes } from '../mail/list-mail.ts';
import { writeFileDurable } from '../state/durable.ts';
import { safeName } from '../state/safe-name.ts';
import type { DeliveryReport, Distributor, ListMail, RecipientResult } from '../types.ts';

export interface MaildirDistributorOptions {
  /** The root: each recipient gets the maildir `dir/<recipient>/`. */
  dir: string;
  /** One shared maildir for every recipient (an archive) instead of one per recipient. @default false */
  single?: boolean;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** The options of `type: maildir` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = z.strictObject({ dir: z.string().min(1), single: z.boolean().optional() });

export default function createMaildirDistributor(options: MaildirDistributorOptions): Distributor {
  if (!options?.dir) throw new Error('maildir distributor: `dir` is required');
  const host = safeName(hostname());
  return {
    name: 'maildir',
    async distribute(mail: ListMail): Promise<DeliveryReport> {
      const bytes = mailBytes(mail);
      const base = `${mail.key.slice(0, 24)}.${safeName(mail.ml_list_name ?? 'mail')}`;
      const results: RecipientResult[] = [];
      const targets = options.single ? [''] : (mail.ml_send_to ?? []);
      for (const recipient of targets) {
        const box = options.single
          ? options.dir
          : join(options.dir, safeName(recipient.toLowerCase()));
        // The time prefix keeps maildir order; the base makes the name stable across retries.
        const name = `${base}.${host}`;
        if (
          !(await exists(join(box, 'new', name))) &&
          !(await exists(join(box, 'cur', `${name}:2,`)))
        ) {
          await mkdir(join(box, 'cur'), { recursive: true });
          await writeFileDurable(join(box, 'new', name), bytes, { tmpDir: join(box, 'tmp') });
        }
      }
      for (const recipient of mail.ml_send_to ?? []) {
        results.push({ recipient, status: 'delivered', distributor: 'maildir' });
      }
      return { results };
    },
  };
}
