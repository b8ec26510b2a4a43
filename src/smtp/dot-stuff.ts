/**
 * The body of an SMTP DATA phase, prepared once per message: line ends made CRLF, a dot
 * doubled at the start of a line (RFC 5321 4.5.2), a final CRLF when missing, and the
 * terminating `.` line. The result is shared by every transaction (and every VERP
 * recipient) that sends the message, so the bytes are copied at most once, and not at all
 * when the message needs no change (then the parts are the original buffer and the dot).
 */
const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const CRLF = Buffer.from('\r\n');
const TERMINATOR = Buffer.from('.\r\n');

export interface PreparedBody {
  /** The buffers to write, in order; the last one ends with `.\r\n`. */
  readonly parts: readonly Buffer[];
  /** Total bytes on the wire. */
  readonly size: number;
  /** Whether any byte is above 127 (for BODY=8BITMIME). */
  readonly eightBit: boolean;
}

function hasEightBit(raw: Buffer): boolean {
  for (let i = 0; i < raw.length; i++) if ((raw[i] as number) > 127) return true;
  return false;
}

/** Whether `raw` can go on the wire as it is (only CRLF line ends, no line starting with a dot). */
function isWireReady(raw: Buffer): boolean {
  if (raw[0] === DOT) return false;
  let at = raw.indexOf(LF);
  while (at !== -1) {
    if (at === 0 || raw[at - 1] !== CR || raw[at + 1] === DOT) return false;
    at = raw.indexOf(LF, at + 1);
  }
  return true;
}

/** CRLF line ends and dot-stuffing, in one copy. */
function stuff(raw: Buffer): Buffer {
  // Worst case every byte is a LF followed by a dot: bounded by 3x, usually a few % more.
  let extra = raw[0] === DOT ? 1 : 0;
  let at = raw.indexOf(LF);
  while (at !== -1) {
    if (at === 0 || raw[at - 1] !== CR) extra++;
    if (raw[at + 1] === DOT) extra++;
    at = raw.indexOf(LF, at + 1);
  }
  const out = Buffer.allocUnsafe(raw.length + extra);
  let w = 0;
  let start = 0;
  if (raw[0] === DOT) out[w++] = DOT;
  at = raw.indexOf(LF);
  while (at !== -1) {
    const bare = at === 0 || raw[at - 1] !== CR;
    w += raw.copy(out, w, start, at);
    if (bare) out[w++] = CR;
    out[w++] = LF;
    start = at + 1;
    if (raw[start] === DOT) out[w++] = DOT;
    at = raw.indexOf(LF, start);
  }
  w += raw.copy(out, w, start);
  return out.subarray(0, w);
}

/** Prepares `raw` (the message's wire bytes) for the DATA phase. */
export function prepareBody(raw: Buffer): PreparedBody {
  const body = isWireReady(raw) ? raw : stuff(raw);
  const endsWithCrlf =
    body.length >= 2 && body[body.length - 2] === CR && body[body.length - 1] === LF;
  const parts = endsWithCrlf || body.length === 0 ? [body, TERMINATOR] : [body, CRLF, TERMINATOR];
  const size = parts.reduce((n, p) => n + p.length, 0);
  return { parts: parts.filter((p) => p.length > 0), size, eightBit: hasEightBit(raw) };
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
