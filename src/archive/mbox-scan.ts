/**
 * Reading an mbox record by record, in chunks (a month of a busy list, or a whole imported
 * history, need not fit in memory twice), with each record's byte offset and length so the
 * index can say where a post's bytes are. Our own files are mboxrd (`strict`: every line
 * that starts with `From ` separates); files from elsewhere (pipermail, HyperKitty exports,
 * mail readers) are read leniently: a separator is a `From ` line ending in a year.
 */
import { open } from 'node:fs/promises';
import { fromLineDate, isFromLine, unquoteMboxrd } from '../mail/mbox.ts';

export interface MboxRecord {
  /** Offset of the record's From_ line in the file. */
  offset: number;
  /** Bytes from the From_ line to the next record (its blank line included). */
  length: number;
  /** The From_ line's date (asctime, taken as UTC), when it has one. */
  fromDate?: number;
  /** The message, mboxrd quoting undone. */
  message: Buffer;
}

const CHUNK = 4 * 1024 * 1024;

/** The message bytes of a whole record (From_ line, message, blank line). */
export function recordMessage(record: Buffer): Buffer {
  const nl = record.indexOf(0x0a);
  let end = record.length;
  if (end >= 2 && record[end - 1] === 0x0a && record[end - 2] === 0x0a) end--;
  else if (end >= 4 && record.subarray(end - 4, end).toString('latin1') === '\r\n\r\n') end -= 2;
  return unquoteMboxrd(record.subarray(nl === -1 ? record.length : nl + 1, Math.max(end, nl + 1)));
}

function recordOf(bytes: Buffer, offset: number): MboxRecord {
  const nl = bytes.indexOf(0x0a);
  const fromDate = fromLineDate(bytes.toString('latin1', 0, nl === -1 ? bytes.length : nl));
  return {
    offset,
    length: bytes.length,
    ...(fromDate !== undefined ? { fromDate } : {}),
    message: recordMessage(bytes),
  };
}

/** The offset of the next separator line at or after `from` in `buf`, or -1 (`complete`: lines cut at the end are not judged). */
function nextSeparator(buf: Buffer, from: number, strict: boolean, atEof: boolean): number {
  let p = from;
  for (;;) {
    const at = p === 0 ? (buf.subarray(0, 5).toString('latin1') === 'From ' ? 0 : -1) : -1;
    const found = at === 0 ? 0 : buf.indexOf('\nFrom ', Math.max(0, p - 1));
    if (found === -1) return -1;
    const start = at === 0 ? 0 : found + 1;
    const nl = buf.indexOf(0x0a, start);
    if (nl === -1 && !atEof) return -1; // the line is not all here yet
    const line = buf.toString('latin1', start, nl === -1 ? buf.length : nl);
    if (isFromLine(line, strict)) return start;
    p = start + 1;
  }
}

/**
 * The records of `path` from byte `start` (a record's first byte, or 0) to its end, as
 * they are read. `end` reports the offset where reading stopped (the file's size then).
 */
export async function* scanMbox(
  path: string,
  start = 0,
  options: { strict?: boolean } = {},
): AsyncGenerator<MboxRecord, number> {
  const strict = options.strict ?? false;
  const handle = await open(path, 'r');
  try {
    let pending = Buffer.alloc(0);
    let base = start; // file offset of pending[0]
    let position = start;
    let eof = false;
    let recStart = -1;
    let searchFrom = 0;
    for (;;) {
      if (!eof) {
        const chunk = Buffer.alloc(CHUNK);
        const { bytesRead } = await handle.read(chunk, 0, CHUNK, position);
        position += bytesRead;
        eof = bytesRead < CHUNK;
        pending = Buffer.concat([pending, chunk.subarray(0, bytesRead)]);
      }
      for (;;) {
        const sep = nextSeparator(pending, searchFrom, strict, eof);
        if (sep === -1) break;
        if (recStart >= 0 && sep > recStart)
          yield recordOf(pending.subarray(recStart, sep), base + recStart);
        recStart = sep;
        searchFrom = sep + 1;
      }
      if (eof) {
        if (recStart >= 0 && recStart < pending.length)
          yield recordOf(pending.subarray(recStart), base + recStart);
        return position;
      }
      // Keep only what the next records need.
      const keep = recStart >= 0 ? recStart : Math.max(0, pending.length - 1024);
      pending = pending.subarray(keep);
      base += keep;
      searchFrom = Math.max(0, searchFrom - keep);
      if (recStart >= 0) recStart = 0;
    }
  } finally {
    await handle.close();
  }
}
