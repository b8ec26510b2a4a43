/**
 * Bringing the index up to the archive files. Each month's mbox is read from where the
 * index stopped (the bytes it has seen are recorded per file), each month's maildir for the
 * files it has not seen; a file that shrank (edited by hand) is read again from the start.
 * The archive distributor runs this for the month it just wrote, so a post appended before
 * a crash is indexed by the next one; `malist archive reindex` forgets a list and runs it
 * over every month.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { withDotlock } from '../state/lock.ts';
import type { ArchiveIndex, Location } from './db.ts';
import { archivedMonths } from './export.ts';
import { extractPost } from './extract.ts';
import { scanMbox } from './mbox-scan.ts';
import { listArchiveDir, maildirPath, mboxPath } from './paths.ts';

export interface SyncResult {
  /** Posts read from the files. */
  read: number;
  /** Posts added to the index (the others were there already: same Message-ID). */
  added: number;
}

/** Posts added per transaction: one fsync of the WAL per batch, not per post. */
const BATCH = 500;

/** The date the archive files a post under: its Date, unless missing or absurd. */
export function filingDate(date: number | undefined, archivedAt: number): number {
  if (date === undefined || date < Date.UTC(1971, 0, 1) || date > archivedAt + 2 * 86_400_000)
    return archivedAt;
  return date;
}

/** Indexes one message's bytes found at `where`; true when it was new. */
export function indexMessage(
  index: ArchiveIndex,
  list: string,
  message: Buffer,
  archivedAt: number,
  where: Location,
): boolean {
  const { meta, text } = extractPost(message);
  return index.add(list, meta, text, filingDate(meta.date, archivedAt), where).added;
}

/**
 * Indexes the records of the mbox `path` from where the index stopped; the caller holds
 * its dot-lock (the distributor or an import may be appending).
 */
export async function syncMboxLocked(
  index: ArchiveIndex,
  list: string,
  path: string,
): Promise<SyncResult> {
  const file = relative(index.root, path);
  const result: SyncResult = { read: 0, added: 0 };
  const size = (await stat(path)).size;
  let from = index.scanned(file);
  if (size === from) return result;
  if (size < from) {
    index.forgetFile(file);
    from = 0;
  }
  let batch: (() => void)[] = [];
  const flush = (scanned: number) => {
    const work = batch;
    batch = [];
    index.transaction(() => {
      for (const add of work) add();
      index.setScanned(file, scanned);
    });
  };
  const records = scanMbox(path, from, { strict: true });
  let next = await records.next();
  while (!next.done) {
    const record = next.value;
    result.read++;
    batch.push(() => {
      const where = { file, offset: record.offset, length: record.length };
      if (indexMessage(index, list, record.message, record.fromDate ?? Date.now(), where))
        result.added++;
    });
    if (batch.length >= BATCH) flush(record.offset + record.length);
    next = await records.next();
  }
  flush(next.value);
  return result;
}

function syncMbox(index: ArchiveIndex, list: string, path: string): Promise<SyncResult> {
  return withDotlock(path, () => syncMboxLocked(index, list, path));
}

/** The files of a month's maildir the index has not seen. */
async function syncMaildir(index: ArchiveIndex, list: string, dir: string): Promise<SyncResult> {
  const result: SyncResult = { read: 0, added: 0 };
  const prefix = `${relative(index.root, dir)}/`;
  const seen = index.sourcesUnder(prefix);
  let batch: (() => void)[] = [];
  const flush = () => {
    const work = batch;
    batch = [];
    index.transaction(() => {
      for (const add of work) add();
    });
  };
  for (const sub of ['new', 'cur']) {
    const names = await readdir(join(dir, sub)).catch(() => [] as string[]);
    for (const name of names) {
      if (name.startsWith('.')) continue;
      const key = `${prefix}${name.replace(/:2,.*$/, '')}`;
      if (seen.has(key)) continue;
      const path = join(dir, sub, name);
      const [bytes, info] = await Promise.all([readFile(path), stat(path)]);
      result.read++;
      batch.push(() => {
        const where = { file: relative(index.root, path), offset: -1, length: bytes.length };
        if (indexMessage(index, list, bytes, info.mtimeMs, where)) result.added++;
        index.setScanned(key, bytes.length);
      });
      if (batch.length >= BATCH) flush();
    }
  }
  flush();
  return result;
}

/** Indexes what the index lacks of a list's months (`months`: only these). */
export async function syncList(
  index: ArchiveIndex,
  list: string,
  months?: readonly string[],
): Promise<SyncResult> {
  const total: SyncResult = { read: 0, added: 0 };
  for (const [month, has] of await archivedMonths(index.root, list)) {
    if (months && !months.includes(month)) continue;
    const parts: SyncResult[] = [];
    if (has.mbox) parts.push(await syncMbox(index, list, mboxPath(index.root, list, month)));
    if (has.maildir)
      parts.push(await syncMaildir(index, list, maildirPath(index.root, list, month)));
    for (const p of parts) {
      total.read += p.read;
      total.added += p.added;
    }
  }
  return total;
}

/** The lists an archive root holds (one folder each). */
export async function archivedLists(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
}

/**
 * Rebuilds a list's rows from its files (every list's when `list` is undefined): what
 * `malist archive reindex` does, and what losing the index file costs.
 */
export async function reindex(
  index: ArchiveIndex,
  list?: string,
): Promise<Map<string, SyncResult>> {
  const lists =
    list === undefined
      ? [...new Set([...(await archivedLists(index.root)), ...index.lists()])]
      : [list];
  const out = new Map<string, SyncResult>();
  for (const name of lists) {
    index.forgetList(name, `${relative(index.root, listArchiveDir(index.root, name))}/`);
    out.set(name, await syncList(index, name));
  }
  return out;
}
