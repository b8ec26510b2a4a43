/**
 * `type: maildir` — mail from a local maildir (`new/` then `cur/`), e.g. one that procmail
 * or Dovecot's LMTP fills. `ack()` removes the file (or moves it to `processed` when set).
 * A mail not acked stays for the next run. One runner at a time per maildir: `malist run`
 * holds a lock.
 */
import { mkdir, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { NothingMore, StageError } from '../errors.ts';
import { createListMail } from '../mail/list-mail.ts';
import { fsyncDir } from '../state/durable.ts';
import type { Fetched, Fetcher } from '../types.ts';

export interface MaildirFetcherOptions {
  /** The maildir (holding `new/` and `cur/`). */
  dir: string;
  /** Move handled mail here (a maildir) instead of deleting it. @default undefined (delete) */
  processed?: string;
  /** Larger files are left in place and reported. @default 50 MiB */
  maxMailSize?: number;
}

/** The options of `type: maildir` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = z
  .strictObject({
    dir: z.string().min(1),
    processed: z.string().min(1).optional(),
    max_mail_size: z.number().int().positive().optional(),
  })
  .transform(({ max_mail_size, ...rest }) => ({
    ...rest,
    ...(max_mail_size ? { maxMailSize: max_mail_size } : {}),
  }));

/** Lists `new/` and `cur/` once per session (oldest first) and hands the files out in turn. */
export default function createMaildirFetcher(options: MaildirFetcherOptions): Fetcher {
  if (!options?.dir) throw new Error('maildir fetcher: `dir` is required');
  const max = options.maxMailSize ?? 50 * 1024 * 1024;
  let queue: string[] | undefined;

  async function list(): Promise<string[]> {
    const files: { path: string; name: string }[] = [];
    for (const sub of ['new', 'cur']) {
      let names: string[] = [];
      try {
        names = await readdir(join(options.dir, sub));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
      for (const name of names)
        if (!name.startsWith('.')) files.push({ path: join(options.dir, sub, name), name });
    }
    // Maildir names start with the delivery time: sorting by name is arrival order.
    files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return files.map((f) => f.path);
  }

  return {
    name: 'maildir',
    async fetch(): Promise<Fetched> {
      queue ??= await list();
      for (;;) {
        const path = queue.shift();
        if (path === undefined) throw new NothingMore();
        let size: number;
        try {
          size = (await stat(path)).size;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // taken meanwhile
          throw error;
        }
        if (size > max) {
          throw new StageError(`${path} is ${size} bytes, over maxMailSize ${max}; left in place`, {
            code: 'ESIZE',
            unit: 'maildir',
          });
        }
        const raw = await readFile(path);
        const id = basename(path).split(':')[0]!;
        const mail = createListMail(raw, { fetcher: 'maildir', id });
        return {
          mail,
          ack: async () => {
            if (options.processed) {
              await mkdir(join(options.processed, 'cur'), { recursive: true });
              await rename(path, join(options.processed, 'cur', basename(path)));
            } else {
              await unlink(path).catch((error: NodeJS.ErrnoException) => {
                if (error.code !== 'ENOENT') throw error;
              });
            }
            await fsyncDir(join(path, '..'));
          },
        };
      }
    },
    async close() {
      queue = undefined;
    },
  };
}
