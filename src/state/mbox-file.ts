/**
 * Appending to an mbox file as mail readers share it: under its dot-lock, each record
 * starting after a blank line, fsynced. Records may carry a key, kept in `<file>.malist-keys`,
 * so that a post handed over again after a crash is not appended twice. The mbox distributor
 * appends one post; the archive appends posts and its import appends many in one go.
 */
import { appendFile, open, readFile } from 'node:fs/promises';

export interface MboxAppend {
  /** The record as written (mboxRecord: From_ line, quoted, blank line after). */
  record: Buffer;
  /** Idempotency key; a record whose key the file already holds is skipped. */
  key?: string;
}

/** The separator to put before a record so it starts after a blank line. */
async function separatorAfter(path: string): Promise<string> {
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) return '';
  try {
    const { size } = await handle.stat();
    if (size === 0) return '';
    const tail = Buffer.alloc(2);
    const { bytesRead } = await handle.read(tail, 0, 2, Math.max(0, size - 2));
    const end = tail.subarray(0, bytesRead).toString('latin1');
    // A record cut short by a crash must not swallow the next one.
    if (end.endsWith('\n\n') || (size === 1 && end === '\n')) return '';
    return end.endsWith('\n') ? '\n' : '\n\n';
  } finally {
    await handle.close();
  }
}

/**
 * Appends `records` to `path` (the caller holds its dot-lock, `withDotlock`), skipping those
 * whose key is already there; one write and one fsync for all. Returns, for each record, the
 * offset its From_ line was written at (undefined: skipped), and the file's size after.
 */
export async function appendMboxUnlocked(
  path: string,
  records: MboxAppend[],
): Promise<{ offsets: (number | undefined)[]; size: number }> {
  const keysPath = `${path}.malist-keys`;
  const keyed = records.some((r) => r.key !== undefined);
  const known = keyed
    ? new Set((await readFile(keysPath, 'utf8').catch(() => '')).split('\n'))
    : new Set<string>();
  const fresh = records.map((r) => r.key === undefined || !known.has(r.key));
  const handle = await open(path, 'a', 0o600);
  try {
    let size = (await handle.stat()).size;
    if (!fresh.includes(true)) return { offsets: records.map(() => undefined), size };
    const separator = Buffer.from(await separatorAfter(path));
    let at = size + separator.length;
    const offsets = records.map((r, i) => {
      if (!fresh[i]) return undefined;
      const offset = at;
      at += r.record.length;
      return offset;
    });
    const data = Buffer.concat([
      separator,
      ...records.filter((_, i) => fresh[i]).map((r) => r.record),
    ]);
    await handle.write(data);
    await handle.sync();
    size += data.length;
    const keys = records.flatMap((r, i) => (fresh[i] && r.key !== undefined ? [`${r.key}\n`] : []));
    if (keys.length > 0) await appendFile(keysPath, keys.join(''));
    return { offsets, size };
  } finally {
    await handle.close();
  }
}
