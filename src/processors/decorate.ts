/**
 * MIME-safe decoration (header and footer texts), as pure functions over a ListMail. Only
 * the part that gains the text is rewritten, in its own charset and transfer encoding:
 * - text/plain or text/html: the text goes into the body;
 * - multipart/alternative: into the plain and the HTML alternatives (HTML text in HTML);
 * - multipart/mixed: a new text part at the start or end;
 * - signed or encrypted mail, a charset the text cannot be written in, or anything else:
 *   the whole original body becomes the first part of a new multipart/mixed, byte for byte,
 *   so signatures stay valid (RFC 1847 signs the inner part, not the outer header).
 * A multipart whose boundary never appears is left alone: it cannot be made worse.
 */
import { createHash } from 'node:crypto';
import {
  type MimePart,
  newBoundary,
  parseMime,
  splice,
  transferEncodingOf,
} from '../mail/mime-tree.ts';
import { base64Decode, base64Encode, qpEncode } from '../mail/transfer-encoding.ts';
import type { ListMail } from '../types.ts';

export interface DecorationTexts {
  /** Plain text added at the end of the message. */
  footer?: string;
  /** HTML added at the end of HTML parts (already escaped). */
  footerHtml?: string;
  /** Plain text added at the start. */
  header?: string;
  headerHtml?: string;
}

export type DecorationResult = 'in-place' | 'part-added' | 'wrapped' | 'untouched';

const SEALED = new Set([
  'multipart/signed',
  'multipart/encrypted',
  'application/pkcs7-mime',
  'application/x-pkcs7-mime',
  'application/pgp-encrypted',
]);
// Charsets in which ASCII bytes do not mean ASCII text.
const NOT_ASCII_SAFE = /^(utf-?16|utf-?32|ucs-?2|ucs-?4|utf-?7|unicode-1-1-utf-7)/i;

/** `text` as bytes in `charset`, or undefined when it cannot be written there. */
function encodeIn(text: string, charset: string): Buffer | undefined {
  if (/^[\x00-\x7f]*$/.test(text) && !NOT_ASCII_SAFE.test(charset))
    return Buffer.from(text, 'latin1');
  if (/^utf-?8$/i.test(charset)) return Buffer.from(text, 'utf8');
  return undefined;
}

function withEol(text: string, eol: string): string {
  return `${text.replace(/\r?\n/g, eol).replace(new RegExp(`(${eol})*$`), '')}${eol}`;
}

/** A text body with `top`/`bottom` added, in the part's encoding; undefined if it cannot be done. */
function rewriteBody(
  body: Buffer,
  cte: string,
  charset: string,
  eol: string,
  add: (decoded: Buffer, top?: Buffer, bottom?: Buffer) => Buffer,
  top?: string,
  bottom?: string,
): Buffer | undefined {
  const topBytes = top === undefined ? undefined : encodeIn(withEol(top, eol), charset);
  const bottomBytes = bottom === undefined ? undefined : encodeIn(withEol(bottom, eol), charset);
  if ((top !== undefined && !topBytes) || (bottom !== undefined && !bottomBytes)) return undefined;
  const eightBit = [topBytes, bottomBytes].some((b) => b?.some((c) => c > 0x7f));
  if (cte === '7bit' || cte === '8bit' || cte === 'binary') {
    if (cte === '7bit' && eightBit) return undefined;
    return add(body, topBytes, bottomBytes);
  }
  if (cte === 'base64') {
    return Buffer.from(base64Encode(add(base64Decode(body), topBytes, bottomBytes), eol), 'latin1');
  }
  if (cte === 'quoted-printable') {
    // Soft line breaks around the inserted text keep the lines around it as they were.
    const qp = (b?: Buffer) => (b ? Buffer.from(`=${eol}${qpEncode(b, eol)}`, 'latin1') : b);
    return add(body, qp(topBytes), qp(bottomBytes));
  }
  return undefined; // an unknown encoding (x-uuencode, "7-bit"): not touched
}

function addPlain(eol: string) {
  return (body: Buffer, top?: Buffer, bottom?: Buffer): Buffer => {
    const parts = [top ?? Buffer.alloc(0), body];
    if (bottom) {
      if (body.length > 0 && body[body.length - 1] !== 0x0a) parts.push(Buffer.from(eol));
      parts.push(bottom);
    }
    return Buffer.concat(parts);
  };
}

function addHtml(body: Buffer, top?: Buffer, bottom?: Buffer): Buffer {
  let out = body;
  if (bottom) {
    const text = out.toString('latin1');
    const matches = [...text.matchAll(/<\/body\s*>/gi)];
    const at = matches.length > 0 ? matches[matches.length - 1]!.index! : out.length;
    out = splice(out, at, at, bottom);
  }
  if (top) {
    const open = /<body\b[^>]*>/i.exec(out.toString('latin1'));
    const at = open ? open.index + open[0].length : 0;
    out = splice(out, at, at, top);
  }
  return out;
}

/** The rewritten bytes of a text part's body, or undefined. */
function decoratePart(part: MimePart, buf: Buffer, texts: DecorationTexts, eol: string) {
  const disposition = part.header.get('Content-Disposition')?.trim().toLowerCase() ?? '';
  if (disposition.startsWith('attachment')) return undefined;
  const charset = part.type.params['charset'] ?? 'us-ascii';
  const body = buf.subarray(part.bodyStart, part.end);
  const cte = transferEncodingOf(part.header);
  if (part.type.mime === 'text/plain')
    return rewriteBody(body, cte, charset, eol, addPlain(eol), texts.header, texts.footer);
  if (part.type.mime === 'text/html')
    return rewriteBody(body, cte, charset, eol, addHtml, texts.headerHtml, texts.footerHtml);
  return undefined;
}

/** The parts of an alternative that carry text (HTML inside multipart/related too). */
function textAlternatives(part: MimePart): MimePart[] {
  return part.children.flatMap((c) => {
    if (c.type.mime === 'text/plain' || c.type.mime === 'text/html') return [c];
    if (c.type.mime === 'multipart/related') return textAlternatives(c).slice(0, 1);
    return [];
  });
}

function textPart(text: string, eol: string): Buffer {
  const ascii = /^[\x00-\x7f]*$/.test(text);
  const body = ascii ? withEol(text, eol) : qpEncode(Buffer.from(withEol(text, eol), 'utf8'), eol);
  return Buffer.from(
    `Content-Type: text/plain; charset="${ascii ? 'us-ascii' : 'utf-8'}"${eol}` +
      `Content-Transfer-Encoding: ${ascii ? '7bit' : 'quoted-printable'}${eol}` +
      `Content-Disposition: inline${eol}${eol}${body}`,
    ascii ? 'latin1' : 'utf8',
  );
}

/** Moves the whole body into the first part of a new multipart/mixed. */
function wrap(mail: ListMail, texts: DecorationTexts, eol: string): void {
  const contentFields = mail.header.fields.filter((f) => /^content-/i.test(f.name));
  const inner = Buffer.concat(
    contentFields.map((f) =>
      f.raw[f.raw.length - 1] === 0x0a ? f.raw : Buffer.concat([f.raw, Buffer.from(eol)]),
    ),
  );
  const boundary = newBoundary(mail.body, createHash('sha256').update(mail.key).digest('hex'));
  const line = (close = false) => Buffer.from(`--${boundary}${close ? '--' : ''}${eol}`);
  const parts: Buffer[] = [];
  if (texts.header !== undefined) parts.push(line(), textPart(texts.header, eol), Buffer.from(eol));
  parts.push(line(), inner, Buffer.from(eol), mail.body, Buffer.from(eol));
  if (texts.footer !== undefined) parts.push(line(), textPart(texts.footer, eol), Buffer.from(eol));
  parts.push(line(true));
  mail.header.removeWhere((name) => /^content-/i.test(name));
  if (!mail.header.has('MIME-Version')) mail.header.set('MIME-Version', '1.0');
  mail.header.set('Content-Type', `multipart/mixed; boundary="${boundary}"`);
  mail.body = Buffer.concat(parts);
}

/** Adds the texts to `mail` (header and body edited in place). */
export function decorateMail(mail: ListMail, texts: DecorationTexts): DecorationResult {
  if (texts.footer === undefined && texts.header === undefined) return 'untouched';
  const eol = mail.header.eol;
  const root = parseMime(mail.header, mail.body);
  const mime = root.type.mime;
  const wrapped = (): DecorationResult => {
    wrap(mail, texts, eol);
    return 'wrapped';
  };
  if (SEALED.has(mime)) return wrapped();
  if (mime.startsWith('multipart/') && !root.boundary) return 'untouched';
  if (mime === 'text/plain' || mime === 'text/html') {
    const body = decoratePart(root, mail.body, texts, eol);
    if (!body) return wrapped();
    mail.body = body;
    return 'in-place';
  }
  if (mime === 'multipart/alternative') {
    const targets = textAlternatives(root);
    const rewritten = targets.map((p) => decoratePart(p, mail.body, texts, eol));
    if (targets.length === 0 || rewritten.some((b) => !b)) return wrapped();
    let body = mail.body;
    // From the last part to the first, so earlier offsets stay true.
    for (let i = targets.length - 1; i >= 0; i--)
      body = splice(body, targets[i]!.bodyStart, targets[i]!.end, rewritten[i]!);
    mail.body = body;
    return 'in-place';
  }
  if (mime === 'multipart/mixed' && root.children.length > 0) {
    const delim = Buffer.from(`--${root.boundary}${eol}`);
    let body = mail.body;
    if (texts.footer !== undefined) {
      const part = textPart(texts.footer, eol);
      if (root.closeAt !== undefined) {
        // The line break before the close delimiter belongs to it: the new part goes before.
        const insert = Buffer.concat([Buffer.from(eol), delim, part]);
        body = splice(
          body,
          root.closeAt,
          root.closeAt,
          insert.subarray(0, insert.length - eol.length),
        );
      } else {
        const sep = body[body.length - 1] === 0x0a ? '' : eol;
        body = Buffer.concat([
          body,
          Buffer.from(sep),
          delim,
          part,
          Buffer.from(`--${root.boundary}--${eol}`),
        ]);
      }
    }
    if (texts.header !== undefined) {
      const at = root.children[0]!.start;
      body = splice(body, at, at, Buffer.concat([textPart(texts.header, eol), delim]));
    }
    mail.body = body;
    return 'part-added';
  }
  return wrapped();
}
