/**
 * The two cuts signing needs in a raw message: where its header ends (exactly where
 * mailauth's verifier ends it, so the signer and the self-check hash the same body), and
 * how new fields go on top of it without touching a byte below.
 */

const LF = 0x0a;
const CR = 0x0d;

/** A message cut at the empty line that ends its header. */
export interface MessageCut {
  /** The header section, its closing empty line included. */
  header: Buffer;
  /** Everything after the empty line (empty when there is none). */
  body: Buffer;
  /** The line ending the message uses first: new fields use it too. */
  eol: '\r\n' | '\n';
}

/**
 * Cuts `raw` at the first empty line (LF LF, LF CR LF, or an empty first line), as
 * RFC 5322 section 2.1 and mailauth's parser do; a message without one is all header.
 */
export function cutMessage(raw: Buffer): MessageCut {
  const firstLf = raw.indexOf(LF);
  const eol = firstLf > 0 && raw[firstLf - 1] === CR ? '\r\n' : '\n';
  const at = (end: number): MessageCut => ({
    header: raw.subarray(0, end),
    body: raw.subarray(end),
    eol,
  });
  if (raw[0] === LF) return at(1);
  if (raw[0] === CR && raw[1] === LF) return at(2);
  for (let i = firstLf; i !== -1; i = raw.indexOf(LF, i + 1)) {
    if (raw[i + 1] === LF) return at(i + 2);
    if (raw[i + 1] === CR && raw[i + 2] === LF) return at(i + 3);
  }
  return at(raw.length);
}

/**
 * `raw` with `fields` on top, in that order. The fields come folded with CRLF (mailauth's
 * formatter); they take the message's own line ending so the copy does not mix two.
 */
export function prependFields(raw: Buffer, fields: readonly string[], eol: string): Buffer {
  if (fields.length === 0) return raw;
  const text = fields.map((f) => `${eol === '\r\n' ? f : f.replace(/\r\n/g, eol)}${eol}`).join('');
  // One buffer, written in place (not a buffer of the fields and a concat): of a few KB, it
  // owns its memory, so the signer pool moves it to the main thread rather than copying it.
  const out = Buffer.allocUnsafe(text.length + raw.length);
  out.write(text, 0, 'latin1');
  raw.copy(out, text.length);
  return out;
}
