/**
 * The relaxed/sha256 body hash (RFC 6376 section 3.4.4) of DKIM and ARC, by native regular
 * expressions over the body as a latin1 string. mailauth's canonicaliser walks the body
 * byte by byte in JavaScript, which was a third of the cost of signing an ed25519 copy; this
 * one gives the same bytes (a property test over blanks, tabs, CR, LF and 8-bit bytes holds
 * the two together; the tests verify signed copies with mailauth and dkimpy too).
 */
import { createHash } from 'node:crypto';

/** The base64 relaxed/sha256 body hash of `body`. */
export function bodyHash(body: Buffer): string {
  const hash = createHash('sha256');
  const canonical = relaxedBody(body);
  if (canonical.length > 0) hash.update(canonical, 'latin1').update('\r\n');
  return hash.digest('base64');
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

/** The relaxed body without its final CRLF ('' for an empty body). */
function relaxedBody(body: Buffer): string {
  let text = crlfLines(body.toString('latin1'));
  // Only from the line of the first blank that changes: prose has single spaces only, and
  // the usual exception is near the end (the "-- " before a footer).
  const first = firstChange(text);
  if (first >= 0) {
    const from = text.lastIndexOf('\n', first) + 1;
    text =
      text.slice(0, from) +
      text.slice(from).replace(BLANKS, (_run, atEnd?: string) => (atEnd ? '' : ' '));
  }
  // Empty lines at the end go.
  let end = text.length;
  while (end >= 2 && text.charCodeAt(end - 2) === 0x0d && text.charCodeAt(end - 1) === 0x0a)
    end -= 2;
  return text.slice(0, end);
}

/** Where the first blank relaxed canonicalisation changes is, or -1 (native scans only). */
function firstChange(text: string): number {
  const found = [text.indexOf('\t'), text.indexOf('  '), text.indexOf(' \r\n')].filter(
    (i) => i >= 0,
  );
  if (text.endsWith(' ')) found.push(text.length - 1);
  return found.length === 0 ? -1 : Math.min(...found);
}
