/**
 * `malist archive export`: a list's archive as one mbox (mboxrd), months in order,
 * optionally limited to a range of months. Monthly mbox files are copied as they are; a
 * month kept only as a maildir is converted message by message.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { mboxRecord } from '../mail/mbox.ts';
import { listArchiveDir } from './paths.ts';

export interface ExportOptions {
  /** The archive root (the archive distributor's `dir`). */
  dir: string;
  list: string;
  /** First month, `YYYY-MM`. @default the first there is */
  from?: string;
  /** Last month, `YYYY-MM`. @default the last there is */
  to?: string;
}

const MONTH = /^\d{4}-\d{2}$/;

/** The months archived for a list, with what each has. */
export async function archivedMonths(
  dir: string,
  list: string,
): Promise<Map<string, { mbox: boolean; maildir: boolean }>> {
  const months = new Map<string, { mbox: boolean; maildir: boolean }>();
  let names: string[] = [];
  try {
    names = await readdir(listArchiveDir(dir, list));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  for (const name of names) {
    const month = name.replace(/\.mbox$/, '');
    if (!MONTH.test(month)) continue;
    const entry = months.get(month) ?? { mbox: false, maildir: false };
    if (name.endsWith('.mbox')) entry.mbox = true;
    else entry.maildir = true;
    months.set(month, entry);
  }
  return new Map([...months].sort(([a], [b]) => a.localeCompare(b)));
}

/** The export, chunk by chunk (one month's mbox, or one converted message). */
export async function* exportArchive(options: ExportOptions): AsyncGenerator<Buffer> {
  for (const [month, has] of await archivedMonths(options.dir, options.list)) {
    if (options.from && month < options.from) continue;
    if (options.to && month > options.to) continue;
    const base = listArchiveDir(options.dir, options.list);
    if (has.mbox) {
      yield await readFile(join(base, `${month}.mbox`));
      continue;
    }
    for (const sub of ['cur', 'new']) {
      const folder = join(base, month, sub);
      const names = (await readdir(folder).catch(() => [] as string[])).filter(
        (f) => !f.startsWith('.'),
      );
      // Maildir names come from keys, not times: order by when each was written.
      const timed = await Promise.all(
        names.map(async (f) => ({ f, t: (await stat(join(folder, f))).mtimeMs })),
      );
      for (const { f: file } of timed.sort((a, b) => a.t - b.t || a.f.localeCompare(b.f))) {
        yield mboxRecord(await readFile(join(folder, file)), 'malist-archive');
      }
    }
  }
}
