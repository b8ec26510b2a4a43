/**
 * `malist archive import`: history from another list server into a list's archive. The
 * posts are written into the archive files (the month of each post's date, in the
 * archive's format) and indexed; a post whose Message-ID the list's archive already holds
 * is skipped, so importing the same history twice, or overlapping exports, adds nothing.
 *
 * Sources, found by looking at them:
 * - an mbox file, plain or gzipped: Mailman 2's `LIST.mbox` and pipermail's monthly
 *   `YYYY-Month.txt(.gz)` (addresses written "alice at example.org"), HyperKitty's
 *   `LIST-YYYY-MM.mbox.gz` downloads, any mail reader's mbox;
 * - a maildir (`cur/`, `new/`);
 * - an mlmmj list directory (its `archive/1`, `archive/2` …) or that `archive/` itself;
 * - a directory of such mbox files or of single messages (`.eml`), read in name order.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { mboxRecord } from '../mail/mbox.ts';
import { writeFileDurable } from '../state/durable.ts';
import { withDotlock } from '../state/lock.ts';
import { appendMboxUnlocked } from '../state/mbox-file.ts';
import type { ArchiveIndex } from './db.ts';
import { extractPost, type PostMeta, type PostText } from './extract.ts';
import { scanMbox } from './mbox-scan.ts';
import { type ArchiveFormat, listArchiveDir, maildirPath, mboxPath } from './paths.ts';
import type { PgArchive } from './pg-store.ts';
import { filingDate, syncList, syncMboxLocked } from './sync.ts';

export interface ImportOptions {
  /** The list the posts belong to. */
  list: string;
  /** A file or directory (see the head of this file). */
  source: string;
  /** The archive's format (the archive distributor's). @default 'mbox' */
  format?: ArchiveFormat;
  /** Called after each batch written, with the running counts. */
  progress?: (counts: ImportResult) => void;
}

export interface ImportResult {
  /** Messages read from the source. */
  read: number;
  /** Posts added to the archive. */
  added: number;
  /** Posts the archive had already (same Message-ID). */
  duplicates: number;
  /** The source's kind, as recognised. */
  kind: string;
}

/** One message of a source, with the time the source filed it (when it says). */
interface SourceMessage {
  bytes: Buffer;
  filedAt?: number;
}

const BATCH = 2000;
/** Posts a transaction when importing into the rows. */
const STORE_BATCH = 500;

async function isGzip(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(2);
    await handle.read(head, 0, 2, 0);
    return head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

async function* mboxMessages(path: string): AsyncGenerator<SourceMessage> {
  let file = path;
  let temp: string | undefined;
  if (await isGzip(path)) {
    temp = await mkdtemp(join(tmpdir(), 'malist-import-'));
    file = join(temp, 'unzipped.mbox');
    await pipeline(createReadStream(path), createGunzip(), createWriteStream(file));
  }
  try {
    for await (const record of scanMbox(file, 0, { strict: false }))
      yield {
        bytes: record.message,
        ...(record.fromDate !== undefined ? { filedAt: record.fromDate } : {}),
      };
  } finally {
    if (temp) await rm(temp, { recursive: true, force: true });
  }
}

async function* fileMessages(paths: string[]): AsyncGenerator<SourceMessage> {
  for (const path of paths) {
    const [bytes, info] = await Promise.all([readFile(path), stat(path)]);
    yield { bytes, filedAt: info.mtimeMs };
  }
}

async function filesIn(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile() && !e.name.startsWith('.')).map((e) => join(dir, e.name));
}

const byNumber = (a: string, b: string) =>
  a.localeCompare(b, 'en', { numeric: true, sensitivity: 'base' });

async function startsLikeMbox(path: string): Promise<boolean> {
  if (await isGzip(path)) return true;
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(5);
    await handle.read(head, 0, 5, 0);
    return head.toString('latin1') === 'From ';
  } finally {
    await handle.close();
  }
}

/** What a source is, and its messages in order. */
async function openSource(
  source: string,
): Promise<{ kind: string; messages: AsyncGenerator<SourceMessage> }> {
  const info = await stat(source);
  if (info.isFile()) {
    return (await startsLikeMbox(source))
      ? { kind: 'mbox', messages: mboxMessages(source) }
      : { kind: 'message', messages: fileMessages([source]) };
  }
  const names = new Set(await readdir(source));
  if (names.has('cur') || names.has('new')) {
    const files = [
      ...(await filesIn(join(source, 'new'))),
      ...(await filesIn(join(source, 'cur'))),
    ];
    const timed = await Promise.all(files.map(async (f) => ({ f, t: (await stat(f)).mtimeMs })));
    timed.sort((a, b) => a.t - b.t || a.f.localeCompare(b.f));
    return { kind: 'maildir', messages: fileMessages(timed.map((x) => x.f)) };
  }
  if (names.has('archive') && (names.has('control') || names.has('subscribers.d'))) {
    const files = (await filesIn(join(source, 'archive'))).sort(byNumber);
    return { kind: 'mlmmj', messages: fileMessages(files) };
  }
  const files = (await filesIn(source)).sort(byNumber);
  const mboxes: string[] = [];
  const singles: string[] = [];
  for (const f of files) ((await startsLikeMbox(f)) ? mboxes : singles).push(f);
  async function* all(): AsyncGenerator<SourceMessage> {
    for (const m of mboxes) yield* mboxMessages(m);
    yield* fileMessages(singles);
  }
  const numbered = files.length > 0 && files.every((f) => /\/\d+$/.test(f));
  return { kind: numbered ? 'mlmmj archive' : 'directory', messages: all() };
}

export interface Prepared {
  meta: PostMeta;
  text: PostText;
  date: number;
  bytes: Buffer;
}

/** Writes one month's new posts into its mbox and indexes them where they landed. */
async function writeMbox(index: ArchiveIndex, list: string, month: string, posts: Prepared[]) {
  const path = mboxPath(index.root, list, month);
  await withDotlock(path, async () => {
    // Whatever another writer appended first is indexed first, so the offsets stay known.
    await syncMboxLocked(index, list, path).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    const records = posts.map((p) => ({
      record: mboxRecord(p.bytes, p.meta.fromAddr, new Date(p.date)),
    }));
    const { offsets, size } = await appendMboxUnlocked(path, records);
    const file = relative(index.root, path);
    index.transaction(() => {
      posts.forEach((p, i) => {
        const where = { file, offset: offsets[i]!, length: records[i]!.record.length };
        index.add(list, p.meta, p.text, p.date, where);
      });
      index.setScanned(file, size);
    });
  });
}

/** Writes one month's new posts as maildir files and indexes them. */
async function writeMaildir(index: ArchiveIndex, list: string, month: string, posts: Prepared[]) {
  const dir = maildirPath(index.root, list, month);
  await mkdir(join(dir, 'cur'), { recursive: true });
  for (const p of posts) {
    const name = `${Math.floor(p.date / 1000)}.${p.meta.messageId.replace(/[^\w.@+=-]/g, '_').slice(0, 80)}.import`;
    const path = join(dir, 'new', name);
    await writeFileDurable(path, p.bytes, { tmpDir: join(dir, 'tmp') });
    index.transaction(() => {
      index.add(list, p.meta, p.text, p.date, {
        file: relative(index.root, path),
        offset: -1,
        length: p.bytes.length,
      });
      index.setScanned(`${relative(index.root, dir)}/${name}`, p.bytes.length);
    });
  }
}

/**
 * Writes posts the list's archive lacks into the files of their months (in `format`) and
 * indexes them: an import's batch, a post the archive store adds, a migration from the rows.
 */
export async function writePosts(
  index: ArchiveIndex,
  list: string,
  format: ArchiveFormat,
  batch: Prepared[],
) {
  await mkdir(listArchiveDir(index.root, list), { recursive: true });
  const byMonth = new Map<string, Prepared[]>();
  for (const p of batch) {
    const month = new Date(p.date).toISOString().slice(0, 7);
    const posts = byMonth.get(month) ?? [];
    posts.push(p);
    byMonth.set(month, posts);
  }
  for (const [month, posts] of [...byMonth].sort(([a], [b]) => a.localeCompare(b))) {
    if (format !== 'maildir') await writeMbox(index, list, month, posts);
    if (format !== 'mbox') await writeMaildir(index, list, month, posts);
  }
}

/** Imports a source into a list's archive (see the head of this file). */
export async function importArchive(
  index: ArchiveIndex,
  options: ImportOptions,
): Promise<ImportResult> {
  await mkdir(listArchiveDir(index.root, options.list), { recursive: true });
  // Posts in the files but not yet in the index (a crash, a lost index) count as there.
  await syncList(index, options.list);
  const { kind, messages } = await openSource(options.source);
  const result: ImportResult = { read: 0, added: 0, duplicates: 0, kind };
  const batchIds = new Set<string>();
  let batch: Prepared[] = [];
  const now = Date.now();
  for await (const message of messages) {
    result.read++;
    const { meta, text } = extractPost(message.bytes);
    if (batchIds.has(meta.messageId) || index.has(options.list, meta.messageId)) {
      result.duplicates++;
      continue;
    }
    batchIds.add(meta.messageId);
    batch.push({
      meta,
      text,
      bytes: message.bytes,
      date: filingDate(meta.date, message.filedAt ?? now),
    });
    if (batch.length >= BATCH) {
      await writePosts(index, options.list, options.format ?? 'mbox', batch);
      result.added += batch.length;
      batch = [];
      batchIds.clear();
      options.progress?.(result);
    }
  }
  await writePosts(index, options.list, options.format ?? 'mbox', batch);
  result.added += batch.length;
  options.progress?.(result);
  return result;
}

/**
 * Imports a source into a list's archive in an archive store that is not the files (the
 * PostgreSQL rows): in batches of STORE_BATCH posts, one transaction each, a post skipped
 * when the list holds its Message-ID.
 */
export async function importIntoStore(
  store: Pick<PgArchive, 'addMany'>,
  options: Omit<ImportOptions, 'format'>,
): Promise<ImportResult> {
  const { kind, messages } = await openSource(options.source);
  const result: ImportResult = { read: 0, added: 0, duplicates: 0, kind };
  const now = Date.now();
  let batch: { bytes: Buffer; archivedAt: number }[] = [];
  const flush = async () => {
    for (const { added } of await store.addMany(options.list, batch))
      if (added) result.added++;
      else result.duplicates++;
    batch = [];
    options.progress?.(result);
  };
  for await (const message of messages) {
    result.read++;
    batch.push({ bytes: message.bytes, archivedAt: message.filedAt ?? now });
    if (batch.length >= STORE_BATCH) await flush();
  }
  await flush();
  return result;
}
