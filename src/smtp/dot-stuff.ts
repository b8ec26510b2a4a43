/**
 * The body of an SMTP DATA phase, prepared once per message: line ends made CRLF, a dot
 * doubled at the start of a line (RFC 5321 4.5.2), a final CRLF when missing, and the
 * terminating `.` line.
 *
 * A message that needs no change is sent from its own buffer (no copy). One that needs
 * changes is copied once and shared by every transaction (and every VERP recipient) —
 * unless it is larger than `STREAM_ABOVE`: then the changed bytes are made in small pieces
 * as each transaction sends them, so a 20 MB post does not cost a second 20 MB of memory
 * (issue 9's target: peak RSS under 150 MB with a 20 MB post).
 */
import { isAscii } from 'node:buffer';

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const CRLF = Buffer.from('\r\n');
const TERMINATOR = Buffer.from('.\r\n');

/** Above this size, a message that needs changes is converted piece by piece on each send. */
export const STREAM_ABOVE = 4 * 1024 * 1024;
const PIECE = 256 * 1024;

export interface PreparedBody {
  /** Total bytes on the wire, terminator included. */
  readonly size: number;
  /** Whether any byte is above 127 (for BODY=8BITMIME). */
  readonly eightBit: boolean;
  /** True when `chunks()` hands out buffers already in memory (write them in one go). */
  readonly inMemory: boolean;
  /** The bytes to write, in order; the last piece ends with `.\r\n`. */
  chunks(): Iterable<Buffer>;
}

/** Any byte above 127: Node's native check (a loop in JavaScript ran cold in each receive). */
function hasEightBit(raw: Buffer): boolean {
  return !isAscii(raw);
}

/** Bytes the conversion adds (a CR per bare LF, a dot per line starting with one). */
function extraBytes(raw: Buffer): number {
  let extra = raw[0] === DOT ? 1 : 0;
  let at = raw.indexOf(LF);
  while (at !== -1) {
    if (at === 0 || raw[at - 1] !== CR) extra++;
    if (raw[at + 1] === DOT) extra++;
    at = raw.indexOf(LF, at + 1);
  }
  return extra;
}

/**
 * Converts `raw[start, end)`; the bytes around the range give the context (a LF right
 * after a CR in the previous range is not bare; a dot after a LF there starts a line).
 */
function convert(raw: Buffer, start: number, end: number, out: Buffer): number {
  let w = 0;
  let from = start;
  if (raw[start] === DOT && (start === 0 || raw[start - 1] === LF)) out[w++] = DOT;
  let at = raw.indexOf(LF, start);
  while (at !== -1 && at < end) {
    w += raw.copy(out, w, from, at);
    if (at === 0 || raw[at - 1] !== CR) out[w++] = CR;
    out[w++] = LF;
    from = at + 1;
    if (from < end && raw[from] === DOT) out[w++] = DOT;
    at = raw.indexOf(LF, from);
  }
  w += raw.copy(out, w, from, end);
  return w;
}

function* pieces(raw: Buffer, tail: Buffer[]): Generator<Buffer> {
  let start = 0;
  while (start < raw.length) {
    let end = Math.min(raw.length, start + PIECE);
    if (end < raw.length) {
      const lf = raw.lastIndexOf(LF, end - 1);
      if (lf >= start) end = lf + 1;
    }
    // At most two bytes more per line; a fresh buffer per piece (the socket keeps it).
    const out = Buffer.allocUnsafe((end - start) * 2 + 1);
    yield out.subarray(0, convert(raw, start, end, out));
    start = end;
  }
  yield* tail;
}

/** Prepares `raw` (the message's wire bytes) for the DATA phase. */
export function prepareBody(raw: Buffer): PreparedBody {
  const extra = extraBytes(raw);
  // After conversion the message ends with CRLF exactly when it ends with LF now.
  const endsWithLine = raw.length === 0 || raw[raw.length - 1] === LF;
  const tail = endsWithLine ? [TERMINATOR] : [CRLF, TERMINATOR];
  const size = raw.length + extra + tail.reduce((n, p) => n + p.length, 0);
  const eightBit = hasEightBit(raw);
  if (extra > 0 && raw.length > STREAM_ABOVE) {
    return { size, eightBit, inMemory: false, chunks: () => pieces(raw, tail) };
  }
  let body = raw;
  if (extra > 0) {
    body = Buffer.allocUnsafe(raw.length + extra);
    convert(raw, 0, raw.length, body);
  }
  const parts = body.length > 0 ? [body, ...tail] : tail;
  return { size, eightBit, inMemory: true, chunks: () => parts };
}

const cache = new WeakMap<Buffer, PreparedBody>();

/** `prepareBody`, once per buffer: the queue hands the same buffer to every round of a send. */
export function preparedBodyOf(raw: Buffer): PreparedBody {
  let prepared = cache.get(raw);
  if (!prepared) {
    prepared = prepareBody(raw);
    cache.set(raw, prepared);
  }
  return prepared;
}
