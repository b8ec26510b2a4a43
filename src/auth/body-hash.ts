/**
 * The relaxed/sha256 body hash (RFC 6376 section 3.4.4) of DKIM and ARC, by native regular
 * expressions over the body as a latin1 string. mailauth's canonicaliser walks the body
 * byte by byte in JavaScript, which was a third of the cost of signing an ed25519 copy; this
 * one gives the same bytes (a property test over blanks, tabs, CR, LF and 8-bit bytes holds
 * the two together; the tests verify signed copies with mailauth and dkimpy too).
 *
 * Both canonicalisers (this one and the self-check's, signature-check.ts) can stop at a line
 * end and go on later from a copy of the hash (`BodyCanon`): the personal copies of a post
 * share their body up to the personal footer, and `prefixBodyMemo` hashes that shared part
 * once a post, then only each copy's own end.
 */
import { createHash, type Hash } from 'node:crypto';

/** A body hash under way: the canonical lines so far in `hash`, empty lines not yet written. */
export interface BodyHashState {
  hash: Hash;
  /** Empty lines seen last: written only if content follows them (RFC 6376 3.4.4). */
  emptyLines: number;
}

/** A relaxed body canonicaliser that can stop after any LF and go on from a copy of its state. */
export interface BodyCanon {
  /**
   * Canonicalises `bytes` into `state`. Every part but a body's last must end with an LF (a
   * line end; its CR, if any, in the same part).
   */
  feed(state: BodyHashState, bytes: Buffer): void;
}

export function startBodyHash(): BodyHashState {
  return { hash: createHash('sha256'), emptyLines: 0 };
}

/** The base64 hash of what `state` was fed (empty lines at the end are dropped). */
function digestBody(state: BodyHashState): string {
  return state.hash.digest('base64');
}

/** The signer's canonicaliser (regular expressions over a latin1 string). */
export const relaxedBodyCanon: BodyCanon = {
  feed(state, bytes) {
    const text = relaxedLines(bytes.toString('latin1'));
    let end = text.length;
    while (end >= 2 && text.charCodeAt(end - 2) === 0x0d && text.charCodeAt(end - 1) === 0x0a)
      end -= 2;
    const trailing = (text.length - end) / 2;
    if (end === 0) {
      state.emptyLines += trailing;
      return;
    }
    if (state.emptyLines > 0) state.hash.update('\r\n'.repeat(state.emptyLines));
    // The last line's CRLF is kept (a body's last part without one gets it here).
    state.hash.update(trailing > 0 ? text.slice(0, end + 2) : `${text}\r\n`, 'latin1');
    state.emptyLines = Math.max(0, trailing - 1);
  },
};

/** The base64 relaxed/sha256 body hash of `body`. */
export function bodyHash(body: Buffer): string {
  const state = startBodyHash();
  relaxedBodyCanon.feed(state, body);
  return digestBody(state);
}

/**
 * `hash` remembering the last body it hashed: the personalised copies of one post whose
 * bodies are the same (a personal one-click URL in the header, no personal footer) cost one
 * body hash, not one each. A body that differs costs a comparison that stops at its first
 * different byte. It keeps its own copy of the body: a caller's buffer may be reused.
 */
export function lastBodyMemo(hash: (body: Buffer) => string): (body: Buffer) => string {
  let last: Buffer | undefined;
  let lastHash = '';
  return (body) => {
    if (last?.equals(body)) return lastHash;
    lastHash = hash(body);
    last = Buffer.from(body);
    return lastHash;
  };
}

/**
 * The body hash by `canon`, for the copies of a post: a body the same as the last one costs
 * a comparison; a body that starts with the lines the last two shared (the post, before a
 * personal footer) costs a comparison of those bytes and the canonicalisation of the rest
 * only, from a copy of the hash state kept after them. The kept bytes are compared in full
 * with every body that uses them, so a body whose shared part differs by one byte is hashed
 * from its start (and a copy changed there fails its check). It keeps its own copies of the
 * bytes: a caller's buffer may be reused.
 */
export function prefixBodyMemo(canon: BodyCanon): (body: Buffer) => string {
  let last: Buffer | undefined;
  let lastHash = '';
  /** Bytes the last bodies began with (whole lines), and the hash state after them. */
  let prefix: { bytes: Buffer; state: BodyHashState } | undefined;
  const from = (base: BodyHashState, rest: Buffer) => {
    const state = { hash: base.hash.copy(), emptyLines: base.emptyLines };
    canon.feed(state, rest);
    return digestBody(state);
  };
  return (body) => {
    if (last?.equals(body)) return lastHash;
    const kept = prefix?.bytes.length ?? 0;
    if (prefix && body.length >= kept && body.compare(prefix.bytes, 0, kept, 0, kept) === 0) {
      lastHash = from(prefix.state, body.subarray(kept));
    } else {
      const shared = last ? sharedLines(last, body) : 0;
      if (shared > 0) {
        const state = startBodyHash();
        canon.feed(state, body.subarray(0, shared));
        prefix = { bytes: Buffer.from(body.subarray(0, shared)), state };
        lastHash = from(state, body.subarray(shared));
      } else {
        const state = startBodyHash();
        canon.feed(state, body);
        lastHash = digestBody(state);
      }
    }
    last = Buffer.from(body);
    return lastHash;
  };
}

/** How many bytes `a` and `b` begin with alike, cut back to the end of a line (after an LF). */
export function sharedLines(a: Buffer, b: Buffer): number {
  // Native comparisons of halving ranges: the length of the common start.
  let same = 0;
  let hi = Math.min(a.length, b.length);
  while (same < hi) {
    const mid = (same + hi + 1) >> 1;
    if (a.compare(b, same, mid, same, mid) === 0) same = mid;
    else hi = mid - 1;
  }
  return same === 0 ? 0 : a.lastIndexOf(0x0a, same - 1) + 1;
}

/** A bare LF (not after a CR). */
const BARE_LF = /(?:^|[^\r])\n/;
/**
 * The blanks relaxed canonicalisation changes, and only those: a run before a line end
 * (captured: removed), a run with a tab or of two or more spaces (made one space).
 */
const BLANKS = /([ \t]+)(?=\r\n|$)|[ \t]*\t[ \t]*| {2,}/g;

/** `text` with every line ending a CRLF (mailauth's parser does the same before hashing). */
export function crlfLines(text: string): string {
  return BARE_LF.test(text) ? text.replace(/\r?\n/g, '\r\n') : text;
}

/** Each line of `text` in relaxed form, with CRLF ends (empty lines at the end kept). */
function relaxedLines(text: string): string {
  let lines = crlfLines(text);
  // Only from the line of the first blank that changes: prose has single spaces only, and
  // the usual exception is near the end (the "-- " before a footer).
  const first = firstChange(lines);
  if (first >= 0) {
    const from = lines.lastIndexOf('\n', first) + 1;
    lines =
      lines.slice(0, from) +
      lines.slice(from).replace(BLANKS, (_run, atEnd?: string) => (atEnd ? '' : ' '));
  }
  return lines;
}

/** Where the first blank relaxed canonicalisation changes is, or -1 (native scans only). */
function firstChange(text: string): number {
  const found = [text.indexOf('\t'), text.indexOf('  '), text.indexOf(' \r\n')].filter(
    (i) => i >= 0,
  );
  if (text.endsWith(' ')) found.push(text.length - 1);
  return found.length === 0 ? -1 : Math.min(...found);
}
