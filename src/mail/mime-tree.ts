/**
 * A byte-exact view of a message's MIME structure: each part knows where its header, body
 * and end lie in the buffer, so a unit can rewrite one part and splice it back, leaving
 * every other byte as it was. Not a MIME library: it neither decodes nor re-serialises.
 */

import { HeaderBlock } from './header-block.ts';
import { libmime } from './lazy.ts';

export interface ContentType {
  /** "text/plain", lower case. */
  mime: string;
  params: Record<string, string>;
}

export interface MimePart {
  header: HeaderBlock;
  /** Offsets in the parsed buffer: the part's first header byte, its body, and its end (exclusive). */
  start: number;
  bodyStart: number;
  end: number;
  type: ContentType;
  /** Parts of a multipart whose boundary was found. */
  children: MimePart[];
  /** For a multipart with its boundary found: the boundary. */
  boundary?: string;
  /** Offset of the line break before the close delimiter; undefined when it is missing. */
  closeAt?: number;
  /** A multipart nested deeper than MAX_DEPTH: its parts were not looked at. */
  truncated?: boolean;
}

/** How deep multiparts are followed; deeper ones are left whole (and marked `truncated`). */
export const MAX_DEPTH = 20;

/** `type/subtype` then `; name=token` or `; name="quoted"` (no escapes), nothing else. */
const PLAIN_TYPE =
  /^\s*([\w!#$%&'+.^`|~-]+\/[\w!#$%&'+.^`|~-]+)\s*((?:;\s*[\w!#$%&'+.^`|~-]+\s*=\s*(?:[^\s;"()\\=]+|"[^"\\]*")\s*)*);?\s*$/;
const PLAIN_PARAM = /;\s*([\w!#$%&'+.^`|~-]+)\s*=\s*(?:([^\s;"()\\=]+)|"([^"\\]*)")/g;

/**
 * The common Content-Type (`text/plain; charset=utf-8`, a quoted boundary) read without
 * libmime, whose load (~70 ms CPU with iconv-lite) a plain post would otherwise pay; anything
 * else — comments, RFC 2231 `name*=`, encoded words, escapes, a repeated parameter — is
 * undefined here and goes to libmime (a test holds the two equal on what this reads).
 */
export function plainContentType(
  value: string,
): { value: string; params: Record<string, string> } | undefined {
  if (value.includes('=?')) return undefined;
  const m = PLAIN_TYPE.exec(value);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  for (const [, name, token, quoted] of m[2]!.matchAll(PLAIN_PARAM)) {
    const key = name!.toLowerCase();
    if (Object.hasOwn(params, key)) return undefined;
    params[key] = token ?? quoted!;
  }
  return { value: m[1]!, params };
}

/** The Content-Type of a header; RFC 2045's default (text/plain) when absent or unreadable. */
export function contentTypeOf(header: HeaderBlock): ContentType {
  const value = header.get('Content-Type');
  if (!value) return { mime: 'text/plain', params: {} };
  const parsed = plainContentType(value) ?? libmime().parseHeaderValue(value);
  const mime = parsed.value.trim().toLowerCase();
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed.params ?? {})) params[k.toLowerCase()] = String(v);
  return { mime: /^[\w.+-]+\/[\w.+-]+$/.test(mime) ? mime : 'text/plain', params };
}

/** The Content-Transfer-Encoding, lower case; '7bit' when absent. */
export function transferEncodingOf(header: HeaderBlock): string {
  return (header.get('Content-Transfer-Encoding') ?? '7bit').trim().toLowerCase() || '7bit';
}

/** Parses the whole mail body (`header` is the message's own header), from nesting `depth`. */
export function parseMime(header: HeaderBlock, body: Buffer, depth = 0): MimePart {
  return parsePart(body, header, 0, 0, body.length, depth);
}

function parsePart(
  buf: Buffer,
  header: HeaderBlock,
  start: number,
  bodyStart: number,
  end: number,
  depth: number,
): MimePart {
  const type = contentTypeOf(header);
  const part: MimePart = { header, start, bodyStart, end, type, children: [] };
  const boundary = type.params['boundary'];
  if (!type.mime.startsWith('multipart/') || !boundary) return part;
  if (depth >= MAX_DEPTH) {
    part.truncated = true;
    return part;
  }
  const delimiters = findDelimiters(buf, bodyStart, end, boundary);
  if (delimiters.length === 0) return part;
  part.boundary = boundary;
  for (let i = 0; i < delimiters.length; i++) {
    const d = delimiters[i]!;
    if (d.close) {
      part.closeAt = d.before;
      break;
    }
    const next = delimiters[i + 1];
    const childEnd = next ? next.before : end;
    const slice = buf.subarray(d.after, childEnd);
    const parsed = HeaderBlock.parse(slice);
    part.children.push(
      parsePart(buf, parsed.header, d.after, d.after + parsed.bodyStart, childEnd, depth + 1),
    );
  }
  return part;
}

interface Delimiter {
  /** Where the line break before the delimiter line starts (it belongs to the delimiter). */
  before: number;
  /** First byte after the delimiter line. */
  after: number;
  close: boolean;
}

function findDelimiters(buf: Buffer, from: number, end: number, boundary: string): Delimiter[] {
  const dash = Buffer.from(`--${boundary}`, 'latin1');
  const out: Delimiter[] = [];
  let line = from;
  while (line < end) {
    let nl = buf.indexOf(0x0a, line);
    if (nl === -1 || nl >= end) nl = end - 1;
    const lineEnd = nl + 1;
    if (buf[line] === 0x2d && buf.subarray(line, line + dash.length).equals(dash)) {
      const rest = buf.toString('latin1', line + dash.length, lineEnd).replace(/\r?\n$/, '');
      const close = rest.startsWith('--');
      if (close || /^[ \t]*$/.test(rest)) {
        let before = line;
        if (before > from && buf[before - 1] === 0x0a) before--;
        if (before > from && buf[before - 1] === 0x0d) before--;
        out.push({ before, after: lineEnd, close });
        if (close) break;
      }
    }
    line = lineEnd;
  }
  return out;
}

/** `buf` with bytes [from, to) replaced by `insert`. */
export function splice(buf: Buffer, from: number, to: number, insert: Buffer): Buffer {
  return Buffer.concat([buf.subarray(0, from), insert, buf.subarray(to)]);
}

/** A boundary that does not occur in `body`. */
export function newBoundary(body: Buffer, seed: string): string {
  for (let i = 0; ; i++) {
    const candidate = `=_malist_${seed.slice(0, 16)}_${i}`;
    if (!body.includes(`--${candidate}`)) return candidate;
  }
}
