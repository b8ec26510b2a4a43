/**
 * The four header functions signing and the self-check need, written here rather than taken
 * from mailauth's `lib/tools.js`: requiring that module loads joi, tldts, libmime and
 * punycode with it, ~0.3 s of CPU once a process (306 ms CPU, 521 ms wall measured at load
 * 10), which was the whole of a batched post's signing overhead (+22% and +26% over a
 * 0.45 s case on a quiet machine, against +2.5% and −6% with the module already loaded). A
 * process that signs and does not verify incoming mail now never loads it; mailauth stays
 * the verifier of incoming mail (verify.ts).
 *
 * Each function gives the bytes of its mailauth 7.1 counterpart (`parseHeaders`,
 * `formatRelaxedLine`, `stripSignatureValue`, `getSigningHeaderLines` for a verifier), the
 * same rules in the same order (MIT, by Andris Reinman); header-fields.test.ts holds the
 * two together with property tests, and dkimpy checks what is signed with them.
 */

/** One header field: lower-case name (null when the line has no colon), name as written, bytes. */
export interface HeaderRow {
  key: string | null;
  casedKey: string;
  line: Buffer;
}

/**
 * Lowercases a latin1 string as RFC 6376 section 3.4.2 means it: ASCII letters only (the
 * Unicode-aware toLowerCase maps the bytes 0xC0–0xDE too, and would fold two names into one).
 */
function lowerAscii(text: string): string {
  return /[^\x00-\x7f]/.test(text)
    ? text.replace(/[A-Z]/g, (c) => c.toLowerCase())
    : text.toLowerCase();
}

/** RFC 5322 section 3.6.8: a field name (printable US-ASCII but the colon), WSP or a fold, a colon. */
const FIELD_START = /^[\x21-\x39\x3b-\x7e]+[ \t\r\n]*:/;

/**
 * The fields of a header block (its closing empty line may be included), in order. A line
 * opens a field when it starts with a field name and a colon (the name and colon may be
 * split by a fold, then the next line is part of the test); any other line belongs to the
 * field above, a wider rule than RFC 5322's fold and mailauth's on purpose (a line read as
 * part of the value above can only turn a pass into a fail). A field's bytes are a slice of
 * the header (no copy) unless it is folded with bare LFs: then its lines are joined with
 * CRLF, as mailauth joins them.
 *
 * Read by offsets into one latin1 string of the header: a field costs its row, its bytes'
 * view and its name (a copy's two parses, the signer's and the self-check's, were ~5% of a
 * signing thread's time and ~13 KB of its garbage); only a name folded before its colon, or
 * a line that opens a field only with the next one, takes the regular-expression way.
 */
export function parseHeaderFields(header: Buffer): HeaderRow[] {
  const text = header.toString('latin1');
  let end = text.length;
  while (end > 0 && (text.charCodeAt(end - 1) === 0x0a || text.charCodeAt(end - 1) === 0x0d)) end--;
  if (end === 0) return [];
  // The lines (without their CRLF or LF), as [start, end) offsets; whether an LF is bare.
  const starts: number[] = [];
  const ends: number[] = [];
  let crlfOnly = true;
  for (let at = 0; ; ) {
    const lf = text.indexOf('\n', at);
    if (lf < 0 || lf >= end) {
      starts.push(at);
      ends.push(end);
      break;
    }
    const cr = lf > 0 && text.charCodeAt(lf - 1) === 0x0d;
    if (!cr) crlfOnly = false;
    starts.push(at);
    ends.push(cr && lf > at ? lf - 1 : lf);
    at = lf + 1;
  }
  const line = (i: number) => text.slice(starts[i], ends[i]);
  // Which lines open a field, from the last up (the test of a line looks at the next one
  // only when that one does not open a field itself), and where a line's own name ends
  // right at its colon (-1: not so).
  const n = starts.length;
  const opens = new Uint8Array(n).fill(1);
  const colons = new Int32Array(n);
  for (let i = n - 1; i >= 0; i--) {
    const from = starts[i]!;
    const colon = nameColon(text, from, ends[i]!);
    colons[i] = colon;
    if (i === 0) break;
    const first = text.charCodeAt(from);
    opens[i] =
      first !== 0x20 &&
      first !== 0x09 &&
      (colon >= 0 ||
        (colon === -2 && FIELD_START.test(line(i))) ||
        (i + 1 < n && opens[i + 1] === 0 && FIELD_START.test(`${line(i)}\r\n${line(i + 1)}`)))
        ? 1
        : 0;
  }
  const rows: HeaderRow[] = [];
  for (let i = 0; i < n; ) {
    let last = i;
    while (last + 1 < n && opens[last + 1] === 0) last++;
    const from = starts[i]!;
    const to = ends[last]!;
    const colon = colons[i]!;
    let bytes: Buffer;
    let row: string | undefined;
    if (last === i || crlfOnly) bytes = header.subarray(from, to);
    else {
      const parts: string[] = [];
      for (let j = i; j <= last; j++) parts.push(line(j));
      row = parts.join('\r\n');
      bytes = Buffer.from(row, 'latin1');
    }
    if (colon >= 0) {
      // The name runs up to the colon: printable ASCII, no fold, nothing to trim.
      const casedKey = text.slice(from, colon);
      rows.push({ key: casedKey.toLowerCase(), casedKey, line: bytes });
    } else {
      // Not `{ ...fieldName(row), line }`: on Node 20 that spread costs ~1 µs a field.
      const { key, casedKey } = fieldName(row ?? text.slice(from, to));
      rows.push({ key, casedKey, line: bytes });
    }
    i = last + 1;
  }
  return rows;
}

/**
 * Where the field name that starts line [from, to) of `text` meets its colon, when the colon
 * follows the name directly (FIELD_START without whitespace); -2 when the name is followed
 * by whitespace (FIELD_START decides), -1 when the line does not start with a name and colon.
 */
function nameColon(text: string, from: number, to: number): number {
  let at = from;
  for (; at < to; at++) {
    const c = text.charCodeAt(at);
    if (c < 0x21 || c > 0x7e || c === 0x3a) break;
  }
  if (at === from || at === to) return -1;
  const c = text.charCodeAt(at);
  if (c === 0x3a) return at;
  return c === 0x20 || c === 0x09 || c === 0x0d ? -2 : -1;
}

/** A field's name as written and lower case; key null when the field starts with a colon. */
function fieldName(row: string): { key: string | null; casedKey: string } {
  const colon = row.indexOf(':');
  // mailauth leaves casedKey undefined for a line without a name; '' reads the same.
  if (colon === 0 || row === '') return { key: null, casedKey: '' };
  const name = colon < 0 ? row : row.slice(0, colon);
  // A fold between the name and the colon is not part of the name.
  const casedKey = /[ \t\r\n]/.test(name)
    ? name.replace(/\r?\n/g, '').replace(/^[ \t]+|[ \t]+$/g, '')
    : name;
  return { key: lowerAscii(casedKey), casedKey };
}

/**
 * A field in relaxed canonical form (RFC 6376 section 3.4.2), `suffix` after it: unfolded,
 * the name lower case, runs of SP and HTAB one SP (no other byte is whitespace here), none
 * around the colon or at the ends.
 */
export function relaxedField(line: Buffer | string, suffix = ''): Buffer {
  const text =
    (typeof line === 'string' ? line : line.toString('latin1'))
      .replace(/\r?\n/g, '')
      .replace(
        /^([^:]*):[ \t]*/,
        (_m, k: string) => `${lowerAscii(k).replace(/^[ \t]+|[ \t]+$/g, '')}:`,
      )
      .replace(/[ \t]+/g, ' ')
      .replace(/^ | $/g, '') + suffix;
  return Buffer.from(text, 'latin1');
}

/**
 * A signature field with its b= value emptied (RFC 6376 section 3.7), as the tag-list parser
 * reads it: split at the semicolons, the last tag named b (whitespace around the name
 * ignored, the name read as UTF-8, any case) loses its value, whitespace included.
 */
export function stripSignatureValue(line: Buffer): Buffer {
  const text = line.toString('latin1');
  const colon = text.indexOf(':');
  const prefix = colon >= 0 ? text.slice(0, colon + 1) : '';
  const segments = (colon >= 0 ? text.slice(colon + 1) : text).split(';');
  for (let i = segments.length - 1; i >= 0; i--) {
    const segment = segments[i]!;
    const eq = segment.indexOf('=');
    if (eq < 0) continue;
    const raw = segment.slice(0, eq);
    // Read as UTF-8, as mailauth does; ASCII reads the same either way.
    const name = (/[^\x00-\x7f]/.test(raw) ? Buffer.from(raw, 'latin1').toString('utf8') : raw)
      .replace(/\s+/g, ' ')
      .trim();
    if (name.toLowerCase() === 'b') {
      segments[i] = segment.slice(0, eq + 1);
      break;
    }
  }
  return Buffer.from(prefix + segments.join(';'), 'latin1');
}

/**
 * The fields an h= list covers, as a verifier picks them (RFC 6376 section 5.4.2): for each
 * name, the last instance not yet used; a name with none left covers nothing.
 */
export function signedFieldRows(rows: readonly HeaderRow[], h: string): HeaderRow[] {
  const names = namesOf(h);
  const left = [...rows];
  const covered: HeaderRow[] = [];
  for (const name of names) {
    for (let i = left.length - 1; i >= 0; i--) {
      if (left[i]!.key !== name) continue;
      covered.push(left[i]!);
      left.splice(i, 1);
      break;
    }
  }
  return covered;
}

/** The last h= list read, and its names (the copies of a post share one). */
let lastList = { h: '', names: [] as readonly string[] };

/** The field names of an h= list, lower case, in order. */
function namesOf(h: string): readonly string[] {
  if (h === lastList.h) return lastList.names;
  const names = h
    .split(':')
    .map((name) => lowerAscii(name.replace(/^[ \t]+|[ \t]+$/g, '')))
    .filter((name) => name !== '');
  lastList = { h, names };
  return names;
}
