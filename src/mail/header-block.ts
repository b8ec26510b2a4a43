/**
 * An ordered, editable header block that keeps every untouched byte: folded lines, 8-bit
 * text, bare LF or CRLF per line, odd casing, obsolete `Name  :` syntax, a leading mbox
 * `From ` line or byte-order mark. Only fields a unit sets or adds are written anew.
 *
 * Not a MIME library: values come back unfolded but undecoded (`get`), or with RFC 2047
 * encoded words decoded (`getDecoded`).
 */
import { decodeWords } from './encoded-words.ts';

export interface HeaderField {
  /** The field name as written (before the colon, trailing blanks removed). */
  readonly name: string;
  /** The whole field as bytes: name, colon, value, folds and its final line ending. */
  readonly raw: Buffer;
}

const LF = 0x0a;
const CR = 0x0d;
// A field name is printable US-ASCII but the colon; obsolete syntax allows blanks before ':'.
const FIELD_START = /^([\x21-\x39\x3b-\x7e]+)[ \t]*:/;
const MBOX_FROM = /^From [^\r\n]*$/;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
/** Fields longer than this are never unfolded into a string for matching (pathological input). */
const MAX_VALUE_CHARS = 1_000_000;

interface Line {
  start: number;
  end: number; // exclusive, including the line ending
  text: string; // latin1 view without the line ending
  bareCr?: boolean; // ended by a CR alone
}

/**
 * The line starting at `start` (undefined at the end): only header lines are ever read. A
 * CR not followed by LF ends a line too (old Mac mail, broken gateways): read as one line,
 * such a header would swallow every field and the blank line after it.
 */
function lineAt(buf: Buffer, start: number): Line | undefined {
  if (start >= buf.length) return undefined;
  const nl = buf.indexOf(LF, start);
  let end = nl === -1 ? buf.length : nl + 1;
  // Searched within this line only: a long bare-LF body is never scanned for CRs.
  const cr = buf.subarray(start, end).indexOf(CR);
  const bareCr = cr !== -1 && start + cr + 1 < end && buf[start + cr + 1] !== LF;
  if (bareCr) end = start + cr + 1;
  let textEnd = end;
  if (buf[textEnd - 1] === LF) textEnd--;
  if (buf[textEnd - 1] === CR) textEnd--;
  return { start, end, text: buf.toString('latin1', start, textEnd), ...(bareCr && { bareCr }) };
}

/** How the header ended: at its blank line, at the end of the message, or at a line that is no field. */
export type HeaderEnding = 'blank-line' | 'end-of-message' | 'body-line';

export class HeaderBlock {
  /** Bytes before the first field: a BOM and/or an mbox `From ` line. Never sent on the wire. */
  prefix: Buffer;
  /** The blank line that ends the header (empty when the message has none). */
  separator: Buffer;
  /** The line ending new fields use: the one the message itself uses first. */
  readonly eol: string;
  /** How the parsed header ended (a new block: at its blank line). */
  readonly ending: HeaderEnding;
  /** True when a line of the parsed header ended in a CR alone. */
  readonly bareCr: boolean;
  private list: HeaderField[];

  constructor(
    fields: HeaderField[],
    prefix: Buffer,
    separator: Buffer,
    eol: string,
    parsed: { ending?: HeaderEnding; bareCr?: boolean } = {},
  ) {
    this.list = fields;
    this.prefix = prefix;
    this.separator = separator;
    this.eol = eol;
    this.ending = parsed.ending ?? 'blank-line';
    this.bareCr = parsed.bareCr ?? false;
  }

  /** Splits `raw` into a header block and the offset where the body starts. */
  static parse(raw: Buffer): { header: HeaderBlock; bodyStart: number } {
    let pos = 0;
    if (raw.subarray(0, 3).equals(BOM)) pos = 3;
    const firstNl = raw.indexOf(LF, pos);
    const first = lineAt(raw, pos);
    // New fields of a bare-CR message are written CRLF: the wire's form, which every reader takes.
    const eol = first?.bareCr || (firstNl > 0 && raw[firstNl - 1] === CR) ? '\r\n' : '\n';
    // The header ends at the first empty line; lines beyond it are never looked at (a
    // 20 MB post costs no more to parse than a short one).
    let line = lineAt(raw, pos);
    if (line && MBOX_FROM.test(line.text) && !FIELD_START.test(line.text)) {
      pos = line.end;
      line = lineAt(raw, pos);
    }
    const prefix = raw.subarray(0, pos);
    const fields: HeaderField[] = [];
    let fieldStart = -1;
    let fieldName = '';
    const closeField = (end: number) => {
      if (fieldStart >= 0) fields.push({ name: fieldName, raw: raw.subarray(fieldStart, end) });
      fieldStart = -1;
    };
    let bodyStart = raw.length;
    let separator: Buffer = Buffer.alloc(0);
    let ending: HeaderEnding = 'end-of-message';
    let bareCr = false;
    for (; line !== undefined; line = lineAt(raw, line.end)) {
      if (line.bareCr) bareCr = true;
      if (line.text === '') {
        closeField(line.start);
        separator = raw.subarray(line.start, line.end);
        bodyStart = line.end;
        ending = 'blank-line';
        break;
      }
      const start = FIELD_START.exec(line.text);
      if (start) {
        closeField(line.start);
        fieldStart = line.start;
        fieldName = start[1]!;
        continue;
      }
      const isFold = line.text[0] === ' ' || line.text[0] === '\t';
      // A line with neither a name nor fold whitespace, followed by more header, is a broken
      // fold (seen from Exchange): keep it in the field. Otherwise the body starts here. A
      // MIME delimiter ("--boundary") is never a fold: the header ran into the first part
      // with no blank line, and the part's own fields are not the message's.
      const next =
        !isFold && fieldStart >= 0 && !line.text.startsWith('--')
          ? lineAt(raw, line.end)
          : undefined;
      const brokenFold = next !== undefined && next.text !== '' && FIELD_START.test(next.text);
      if ((isFold || brokenFold) && fieldStart >= 0) continue;
      closeField(line.start);
      bodyStart = line.start;
      ending = 'body-line';
      break;
    }
    if (line === undefined) closeField(raw.length);
    const header = new HeaderBlock(fields, prefix, separator, eol, { ending, bareCr });
    return { header, bodyStart };
  }

  get fields(): readonly HeaderField[] {
    return this.list;
  }

  /** Unfolded values of every field called `name` (case-insensitive), raw bytes as latin1→utf8. */
  getAll(name: string): string[] {
    const lower = name.toLowerCase();
    return this.list.filter((f) => f.name.toLowerCase() === lower).map(fieldValue);
  }

  /** The first value of `name`, unfolded, or undefined. */
  get(name: string): string | undefined {
    const lower = name.toLowerCase();
    const field = this.list.find((f) => f.name.toLowerCase() === lower);
    return field ? fieldValue(field) : undefined;
  }

  /** The first value of `name` with RFC 2047 encoded words decoded. */
  getDecoded(name: string): string | undefined {
    const value = this.get(name);
    return value === undefined ? undefined : decodeWords(value);
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Replaces the first `name` field in place (others removed), or appends one. */
  set(name: string, value: string): void {
    const lower = name.toLowerCase();
    const field = makeField(name, value, this.eol);
    let replaced = false;
    this.list = this.list.flatMap((f) => {
      if (f.name.toLowerCase() !== lower) return [f];
      if (replaced) return [];
      replaced = true;
      return [field];
    });
    if (!replaced) this.list.push(field);
  }

  /**
   * Replaces the first `name` field with `name: ` followed by `value` as bytes, for edits
   * that must keep undecodable 8-bit bytes of an original value (a subject prefix).
   */
  setRaw(name: string, value: Buffer): void {
    const head = makeField(name, '', this.eol);
    // Only a single line ending followed by a blank stays (a fold of the original value);
    // any other CR or LF becomes a space, so no value can end the header or start a field.
    const clean = value
      .toString('latin1')
      .replace(/(\r?\n)(?=[ \t])|[\r\n]/g, (_m, fold: string | undefined) => fold ?? ' ');
    const raw = Buffer.concat([
      head.raw.subarray(0, head.raw.length - this.eol.length),
      Buffer.from(clean, 'latin1'),
      Buffer.from(this.eol),
    ]);
    const field: HeaderField = { name, raw };
    created.add(field);
    this.set(name, '');
    this.list = this.list.map((f) => (f.name.toLowerCase() === name.toLowerCase() ? field : f));
  }

  /** The raw value bytes of the first `name` field (after the colon, folds kept), or undefined. */
  getRaw(name: string): Buffer | undefined {
    const lower = name.toLowerCase();
    const field = this.list.find((f) => f.name.toLowerCase() === lower);
    if (!field) return undefined;
    let end = field.raw.length;
    if (field.raw[end - 1] === LF) end--;
    if (field.raw[end - 1] === CR) end--;
    return field.raw.subarray(field.raw.indexOf(0x3a) + 1, end);
  }

  /** Adds a field at the end (`append`) or at the top (`prepend`, as trace fields go). */
  add(name: string, value: string, where: 'append' | 'prepend' = 'append'): void {
    const field = makeField(name, value, this.eol);
    if (where === 'prepend') this.list.unshift(field);
    else this.list.push(field);
  }

  /** Removes every field called `name`; returns how many went. */
  remove(name: string): number {
    const lower = name.toLowerCase();
    const before = this.list.length;
    this.list = this.list.filter((f) => f.name.toLowerCase() !== lower);
    return before - this.list.length;
  }

  /** Removes every field whose name (or, given the field too, whose bytes) match. */
  removeWhere(match: (name: string, field: HeaderField) => boolean): number {
    const before = this.list.length;
    this.list = this.list.filter((f) => !match(f.name, f));
    return before - this.list.length;
  }

  clone(): HeaderBlock {
    return new HeaderBlock([...this.list], this.prefix, this.separator, this.eol, {
      ending: this.ending,
      bareCr: this.bareCr,
    });
  }

  /**
   * The header as bytes. With `wire`, the mbox/BOM prefix is left out (it is not part of
   * the message). A message with no separator but a body gets one, so fields added to a
   * headerless message cannot swallow its first body line.
   */
  toBuffer(opts: { wire?: boolean; hasBody?: boolean } = {}): Buffer {
    const parts: Buffer[] = [];
    if (!opts.wire) parts.push(this.prefix);
    let separator = this.separator;
    if (separator.length === 0 && opts.hasBody && this.list.length > 0 && this.list.some(isNew)) {
      separator = Buffer.from(this.eol, 'latin1');
    }
    this.list.forEach((f, i) => {
      parts.push(f.raw);
      // A message that ends inside its last field (no final line ending) keeps ending there.
      const endsMessage = i === this.list.length - 1 && separator.length === 0 && !opts.hasBody;
      const last = f.raw[f.raw.length - 1];
      if (last !== LF && last !== CR && !endsMessage) parts.push(Buffer.from(this.eol, 'latin1'));
    });
    parts.push(separator);
    return Buffer.concat(parts);
  }
}

const created = new WeakSet<HeaderField>();
function isNew(field: HeaderField): boolean {
  return created.has(field);
}

/** Unfolds a field's value: removes CR/LF before fold whitespace, trims the ends. */
function fieldValue(field: HeaderField): string {
  const text = field.raw.toString('utf8', 0, Math.min(field.raw.length, MAX_VALUE_CHARS));
  const colon = text.indexOf(':');
  return text
    .slice(colon + 1)
    .replace(/(\r\n|\r|\n)(?=[ \t])/g, '')
    .replace(/\r\n|\r|\n/g, ' ')
    .trim();
}

/**
 * Builds a new field. CR and LF in the value become spaces, so no value (a subject prefix
 * from config, a poster's name) can ever start a header of its own. Long values are folded
 * at blanks near 78 columns.
 */
export function makeField(name: string, value: string, eol = '\r\n'): HeaderField {
  if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name))
    throw new Error(`invalid header field name: ${JSON.stringify(name)}`);
  const clean = value.replace(/[\r\n]+/g, ' ').replace(/^\s+/, '');
  const text = `${name}: ${fold(clean, name.length + 2, eol)}${eol}`;
  const field: HeaderField = { name, raw: Buffer.from(text, 'utf8') };
  created.add(field);
  return field;
}

function fold(value: string, used: number, eol: string): string {
  if (used + value.length <= 78) return value;
  // Parts in an array, joined once: testing the end of a growing string (`endsWith`, a
  // `/ $/` replace) flattens it every time, and a subject of 20,000 encoded words took 3.2 s
  // of CPU to fold.
  const parts: string[] = [];
  let lineLen = used;
  for (const word of value.split(/(?<= )/)) {
    if (lineLen + word.length > 78 && parts.length > 0) {
      const last = parts.length - 1;
      if (parts[last]!.endsWith(' ')) parts[last] = parts[last]!.slice(0, -1);
      parts.push(`${eol} `);
      lineLen = 1;
    }
    parts.push(word);
    lineLen += word.length;
  }
  return parts.join('');
}
