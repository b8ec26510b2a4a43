/**
 * Content-Transfer-Encoding for the parts malist rewrites itself, through libqp and libbase64
 * (the codecs of nodemailer, mailparser and libmime). What is left here is the line ending:
 * the libraries write CRLF, a mail keeps its own (a bare-LF mail from a local MTA stays LF).
 */
import { encode as base64, decode as base64Decoded, wrap as base64Lines } from 'libbase64';
import { encode as qp, wrap as qpLines } from 'libqp';

/** At most 76 characters a line (RFC 2045 §6.7, §6.8). */
const LINE = 76;

/** `text`, whose line breaks are CRLF, with `eol` instead. */
function withEol(text: string, eol: string): string {
  return eol === '\r\n' ? text : text.replaceAll('\r\n', eol);
}

/**
 * Quoted-printable (RFC 2045 §6.7) of `data`, lines ending in `eol`, at most 76 columns. A
 * line break of `data` (LF or CRLF) stays a line break; a line starting with "-" is escaped
 * so that no encoded line reads as a MIME boundary.
 */
export function qpEncode(data: Buffer, eol: string): string {
  const lines = Buffer.from(data.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
  return withEol(qpLines(qp(lines), LINE), eol);
}

/** Decodes a base64 body (line breaks and junk ignored, as mail readers do). */
export function base64Decode(body: Buffer): Buffer {
  // A string, not the Buffer: libbase64 copies a Buffer as it is.
  return base64Decoded(body.toString('latin1'));
}

/** Base64 in lines of 76 characters, each ending in `eol`. */
export function base64Encode(data: Buffer, eol: string): string {
  if (data.length === 0) return '';
  return withEol(`${base64Lines(base64(data), LINE)}\r\n`, eol);
}
