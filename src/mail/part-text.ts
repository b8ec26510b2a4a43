/**
 * The text of a MIME part, and a part's body rewritten in its own transfer encoding: for
 * the units that read (robot detection) or edit (a password line) a body's words rather
 * than its bytes. Charsets are decoded with the WHATWG decoders Node ships (full ICU:
 * ISO-8859-*, windows-*, KOI8, Shift_JIS, Big5, GB18030, …); an unknown one reads as
 * Latin-1, which never throws and keeps ASCII words readable.
 */
import { decode as qpDecode } from 'libqp';
import { type MimePart, transferEncodingOf } from './mime-tree.ts';
import { base64Decode, base64Encode, qpEncode } from './transfer-encoding.ts';

/** The encodings a body can be decoded from and written back in. */
const KNOWN = new Set(['7bit', '8bit', 'binary', 'base64', 'quoted-printable']);

/** The body of `part` (offsets into `buf`) with its transfer encoding undone; undefined for an unknown one. */
export function decodedBody(part: MimePart, buf: Buffer): Buffer | undefined {
  const cte = transferEncodingOf(part.header);
  const body = buf.subarray(part.bodyStart, part.end);
  if (cte === 'base64') return base64Decode(body);
  if (cte === 'quoted-printable') return qpDecode(body.toString('latin1'));
  return KNOWN.has(cte) ? body : undefined;
}

/** `bytes` as text in `charset` (Latin-1 when the charset is unknown). */
export function decodeCharset(bytes: Buffer, charset = 'us-ascii'): string {
  const name = /^(us-)?ascii$/i.test(charset) ? 'utf-8' : charset;
  try {
    return new TextDecoder(name).decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

/** The decoded text of a text part, at most `max` bytes of it; '' when it cannot be read. */
export function partText(part: MimePart, buf: Buffer, max = 64 * 1024): string {
  const decoded = decodedBody(part, buf);
  if (!decoded) return '';
  return decodeCharset(decoded.subarray(0, max), part.type.params['charset']);
}

/** Leaf parts in order, depth first. */
export function leafParts(part: MimePart): MimePart[] {
  return part.children.length === 0 ? [part] : part.children.flatMap(leafParts);
}

/** The first text/plain leaf that is not an attachment (the message's "first text part"). */
export function firstTextPart(root: MimePart, mime = 'text/plain'): MimePart | undefined {
  return leafParts(root).find(
    (p) =>
      p.type.mime === mime &&
      !/^attachment/i.test(p.header.get('Content-Disposition')?.trim() ?? ''),
  );
}

/**
 * `decoded` written back in the part's transfer encoding (line endings `eol`); undefined
 * when the encoding is unknown. 7bit, 8bit and binary bodies are their own bytes: an edit
 * that only takes bytes out keeps whatever the part already carried.
 */
export function encodeBody(part: MimePart, decoded: Buffer, eol: string): Buffer | undefined {
  const cte = transferEncodingOf(part.header);
  if (cte === 'base64') return Buffer.from(base64Encode(decoded, eol), 'latin1');
  if (cte === 'quoted-printable') return Buffer.from(qpEncode(decoded, eol), 'latin1');
  return KNOWN.has(cte) ? decoded : undefined;
}
