/**
 * The MIME skeleton of a mail at a bounce address, found in bounded time and memory.
 *
 * Only a capped prefix is read (a report's useful parts come first; what follows is the
 * returned message), line ends are normalised (CRLF, and the bare CR of old Mac mailers),
 * and the parts are found line by line: a part ends at the next delimiter of any open
 * multipart, so a missing closing boundary costs nothing. A message/rfc822 part is walked
 * into too, one level deeper (a forwarded report, or the returned message), so the caller
 * can prefer what is nearest the top. No regular expression here runs on more than one
 * line, and lines are cut to a fixed length before any is tried.
 */

/** How much of a mail is read: reports put their parts first; the rest is the copy. */
export const SCAN_CAP = 256 * 1024;
/** Longest line looked at; longer ones are cut (hostile mail: one long token). */
const LINE_CAP = 2000;
const MAX_PARTS = 64;
const MAX_DEPTH = 6;
/** A part header longer than this is cut (the returned message's Received chain). */
const MAX_PART_HEADER_LINES = 300;

export interface Part {
  /** Lower-case media type, e.g. `message/delivery-status` (`text/plain` when none). */
  type: string;
  /** The part's header fields, names lower-cased, unfolded (first wins). */
  headers: Record<string, string>;
  /**
   * The body, transfer-decoded, with `\n` line ends: text parts in their charset (a notice
   * in Chinese, Japanese or Russian reads as such), the others as latin1.
   */
  body: string;
  /** How many message/rfc822 wrappers enclose this part (0: the mail itself). */
  nested: number;
}

export interface Scanned {
  /** The top-level header fields (names lower-cased, unfolded, first wins). */
  headers: Record<string, string>;
  /** Leaf parts in order. */
  parts: Part[];
  /** The text the parts came from, for the rescue scan of a broken structure. */
  lines: string[];
}

/** Capped latin1 text with `\n` line ends, split into lines (each at most LINE_CAP). */
export function linesOf(raw: Buffer, cap = SCAN_CAP): string[] {
  const text = raw.subarray(0, cap).toString('latin1');
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 10;
    if (c !== 10 && c !== 13) continue;
    out.push(text.slice(start, Math.min(i, start + LINE_CAP)));
    if (c === 13 && text.charCodeAt(i + 1) === 10) i++;
    start = i + 1;
  }
  return out;
}

/** Unfolds header lines into name → value (names lower-cased, first occurrence wins). */
export function fieldsOf(lines: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  let name = '';
  let value = '';
  const flush = () => {
    if (name && !(name in out)) out[name] = value.trim();
    name = '';
  };
  for (const line of lines) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && name) {
      if (value.length < 4 * LINE_CAP) value += ` ${line.trim()}`;
      continue;
    }
    flush();
    const colon = line.indexOf(':');
    if (colon <= 0 || colon > 76) continue;
    const candidate = line.slice(0, colon).trim();
    if (!/^[!-9;-~]+$/.test(candidate)) continue;
    name = candidate.toLowerCase();
    value = line.slice(colon + 1);
  }
  flush();
  return out;
}

/** The value of a `name=value` parameter of a header field, unquoted. */
export function parameter(value: string, name: string): string {
  const lower = value.toLowerCase();
  let at = lower.indexOf(`${name}=`);
  while (at > 0 && !/[;\s]/.test(lower[at - 1]!)) at = lower.indexOf(`${name}=`, at + 1);
  if (at < 0) return '';
  const rest = value.slice(at + name.length + 1).trimStart();
  if (rest.startsWith('"')) {
    const end = rest.indexOf('"', 1);
    return end < 0 ? rest.slice(1) : rest.slice(1, end);
  }
  const end = rest.search(/[;\s]/);
  return end < 0 ? rest : rest.slice(0, end);
}

/** The media type of a Content-Type value, lower case (`text/plain` when absent). */
export function mediaType(value: string | undefined): string {
  const type = (value ?? '').split(';')[0]!.trim().toLowerCase();
  return /^[\w.+-]+\/[\w.+-]+$/.test(type) ? type : 'text/plain';
}

/** Decodes a body by its Content-Transfer-Encoding (base64, quoted-printable) to latin1. */
export function decodeBody(lines: readonly string[], encoding: string | undefined): string {
  const cte = (encoding ?? '').trim().toLowerCase();
  if (cte === 'base64')
    return Buffer.from(lines.join('').replace(/[^A-Za-z0-9+/=]/g, ''), 'base64').toString('latin1');
  if (cte !== 'quoted-printable') return lines.join('\n');
  let out = '';
  for (const line of lines) {
    const soft = line.endsWith('=');
    const text = (soft ? line.slice(0, -1) : line).replace(/=([0-9A-Fa-f]{2})/g, (_, h: string) =>
      String.fromCharCode(Number.parseInt(h, 16)),
    );
    out += soft ? text : `${text}\n`;
  }
  return out;
}

/** Charsets a notice is read in; others (and none) stay latin1, byte for byte. */
const TEXT_CHARSETS =
  /^(utf-?8|gb2312|gbk|gb18030|big5|shift_jis|sjis|x-sjis|euc-jp|iso-2022-jp|euc-kr|ks_c_5601-1987|koi8-r|koi8-u|windows-125[0-8]|iso-8859-\d{1,2})$/;

/** A text part's body in its own charset (decoding never throws: bad bytes become U+FFFD). */
export function textInCharset(body: string, type: string, contentType: string | undefined): string {
  if (!type.startsWith('text/')) return body;
  const charset = parameter(contentType ?? '', 'charset').toLowerCase();
  if (!TEXT_CHARSETS.test(charset) || !/[\x80-\xff\x1b]/.test(body)) return body;
  try {
    const label = charset === 'sjis' || charset === 'x-sjis' ? 'shift_jis' : charset;
    return new TextDecoder(label).decode(Buffer.from(body, 'latin1'));
  } catch {
    return body;
  }
}

/** Index of the first empty line at or after `from` (or lines.length). */
function headerEnd(lines: readonly string[], from: number, max = Number.POSITIVE_INFINITY): number {
  let i = from;
  while (i < lines.length && lines[i]!.trim() !== '' && i - from < max) i++;
  return i;
}

interface Frame {
  boundary: string;
  /** Depth of message/rfc822 wrapping of the parts inside. */
  nested: number;
}

/** Which open boundary `line` delimits: the frame index, or -1. */
function delimiterOf(line: string, frames: readonly Frame[]): number {
  if (!line.startsWith('--')) return -1;
  const text = line.trimEnd();
  for (let f = frames.length - 1; f >= 0; f--) {
    const b = frames[f]!.boundary;
    if (text === `--${b}` || text === `--${b}--`) return f;
  }
  return -1;
}

/**
 * Reads one entity (a header block, then its body) from `start`; pushes leaf parts.
 * Returns the line index where the entity ends (a delimiter of an open frame, or the end).
 */
function entity(
  lines: readonly string[],
  start: number,
  frames: Frame[],
  nested: number,
  parts: Part[],
  topHeaders?: Record<string, string>,
): number {
  const end = headerEnd(
    lines,
    start,
    topHeaders ? Number.POSITIVE_INFINITY : MAX_PART_HEADER_LINES,
  );
  const headers = topHeaders ?? fieldsOf(lines.slice(start, end));
  const type = mediaType(headers['content-type']);
  let i = end + 1;
  const boundary = type.startsWith('multipart/')
    ? parameter(headers['content-type'] ?? '', 'boundary')
    : '';
  if (boundary && frames.length < MAX_DEPTH) {
    frames.push({ boundary, nested });
    const own = frames.length - 1;
    // Skip the preamble, then read each part until a delimiter of an outer frame.
    while (i < lines.length && delimiterOf(lines[i]!, frames) < 0) i++;
    while (i < lines.length && parts.length < MAX_PARTS) {
      const f = delimiterOf(lines[i]!, frames);
      if (f !== own || lines[i]!.trimEnd().endsWith(`${boundary}--`)) break;
      i = entity(lines, i + 1, frames, nested, parts);
    }
    frames.length = own;
    // After the closing delimiter, skip the epilogue up to an outer delimiter.
    if (i < lines.length && delimiterOf(lines[i]!, [...frames, { boundary, nested }]) === own) i++;
    while (i < lines.length && delimiterOf(lines[i]!, frames) < 0) i++;
    return i;
  }
  if ((type === 'message/rfc822' || type === 'message/global') && nested < 2) {
    return entity(lines, i, frames, nested + 1, parts);
  }
  let j = i;
  while (j < lines.length && delimiterOf(lines[j]!, frames) < 0) j++;
  if (parts.length < MAX_PARTS)
    parts.push({
      type,
      headers,
      body: textInCharset(
        decodeBody(lines.slice(i, j), headers['content-transfer-encoding']),
        type,
        headers['content-type'],
      ),
      nested,
    });
  return j;
}

/** The header and leaf parts of a mail, from its capped prefix. */
export function scanMail(raw: Buffer): Scanned {
  const lines = linesOf(raw);
  // An mbox "From " line before the header is not a field.
  const first = lines[0]?.startsWith('From ') ? 1 : 0;
  const end = headerEnd(lines, first);
  const headers = fieldsOf(lines.slice(first, end));
  const parts: Part[] = [];
  entity(lines, first, [], 0, parts, headers);
  return { headers, parts, lines };
}

/**
 * Parts of `type` found by their Content-Type line alone, for mail whose boundaries are
 * broken (truncated parameter, wrong delimiter): each runs from the blank line after its
 * header to the next boundary-looking line or part header, never further than 400 lines.
 */
export function rescueParts(lines: readonly string[], type: string): Part[] {
  const out: Part[] = [];
  for (let i = 0; i < lines.length && out.length < 8; i++) {
    const line = lines[i]!;
    if (!/^content-type:/i.test(line) || mediaType(line.slice(13)) !== type) continue;
    const end = headerEnd(lines, i, MAX_PART_HEADER_LINES);
    const headers = fieldsOf(lines.slice(i, end));
    let j = end + 1;
    const stop = Math.min(lines.length, j + 400);
    while (j < stop && !lines[j]!.startsWith('--') && !/^content-type:/i.test(lines[j]!)) j++;
    out.push({
      type,
      headers,
      body: decodeBody(lines.slice(end + 1, j), headers['content-transfer-encoding']),
      nested: 0,
    });
    i = j - 1;
  }
  return out;
}

const MESSAGE_ID_LINE = /^message-id:\s*(<[^<>\s]{1,250}>)?/i;

/**
 * The Message-IDs of the message a report returns (its message/rfc822 or
 * text/rfc822-headers part, or the copy after a notice's text): every `Message-ID:` field
 * below the report's own header, the value on the line or the next one. At most 10.
 */
export function returnedMessageIds(scanned: Scanned): string[] {
  const own = (scanned.headers['message-id'] ?? '').trim();
  const found = new Set<string>();
  const scan = (lines: readonly string[], from: number) => {
    for (let i = from; i < lines.length && found.size < 10; i++) {
      const m = MESSAGE_ID_LINE.exec(lines[i]!);
      if (!m) continue;
      const id = m[1] ?? /^\s+(<[^<>\s]{1,250}>)/.exec(lines[i + 1] ?? '')?.[1];
      if (id && id !== own) found.add(id);
    }
  };
  const top = scanned.lines.findIndex((l) => l.trim() === '');
  scan(scanned.lines, top < 0 ? scanned.lines.length : top);
  // Parts the transfer encoding hid from the raw lines (a base64 text/rfc822-headers).
  for (const part of scanned.parts)
    if (/base64|quoted/i.test(part.headers['content-transfer-encoding'] ?? ''))
      scan(part.body.split('\n'), 0);
  return [...found];
}
