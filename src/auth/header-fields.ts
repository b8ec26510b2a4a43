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
 * Whether a line (with the line after it) opens a field; any other line belongs to the field
 * above, a wider rule than RFC 5322's fold and mailauth's on purpose (a line read as part of
 * the value above can only turn a pass into a fail).
 */
function startsField(row: readonly string[]): boolean {
  return FIELD_START.test(row.length > 1 ? `${row[0]}\r\n${row[1]}` : row[0]!);
}

/** An LF not after a CR. */
const BARE_LF = /(?:^|[^\r])\n/;

/** The fields of a header block (its closing empty line may be included), in order. */
export function parseHeaderFields(header: Buffer): HeaderRow[] {
  const text = header.toString('latin1').replace(/[\r\n]+$/, '');
  if (text === '') return [];
  const rows = text.split(/\r?\n/).map((line) => [line]);
  for (let i = rows.length - 1; i > 0; i--) {
    if (!startsField(rows[i]!)) {
      rows[i - 1] = rows[i - 1]!.concat(rows[i]!);
      rows.splice(i, 1);
    }
  }
  // With CRLF line ends only (what the queue signs), each field's bytes are a slice of the
  // header as it is: no copy of them.
  let at = BARE_LF.test(text) ? -1 : 0;
  return rows.map((parts) => {
    const row = parts.join('\r\n');
    const line = at < 0 ? Buffer.from(row, 'latin1') : header.subarray(at, at + row.length);
    if (at >= 0) at += row.length + 2;
    const name = /^[^:]+/.exec(row);
    let key: string | null = null;
    let casedKey = '';
    if (name) {
      // A fold between the name and the colon is not part of the name.
      casedKey = name[0].replace(/\r?\n/g, '').replace(/^[ \t]+|[ \t]+$/g, '');
      key = lowerAscii(casedKey);
    }
    // mailauth leaves casedKey undefined for a line without a colon; '' reads the same.
    return { key, casedKey, line };
  });
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
    const name = Buffer.from(segment.slice(0, eq), 'latin1')
      .toString('utf8')
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
  const names = h
    .split(':')
    .map((name) => lowerAscii(name.replace(/^[ \t]+|[ \t]+$/g, '')))
    .filter((name) => name !== '');
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
