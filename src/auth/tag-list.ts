/**
 * The tags of a DKIM-Signature, ARC-Seal or ARC-Message-Signature field (RFC 6376 section
 * 3.2), as strings: what the sealer and the self-check read from the fields (a=, b=, bh=,
 * c=, cv=, d=, h=, i=, s=, …). Written here rather than taken from mailauth's
 * `lib/parse-dkim-headers.js` so that a process that signs loads no mailauth module at all
 * (that one and its body canonicaliser were ~15 ms of a batched post's one-time cost), and
 * because it is a few lines: split at the semicolons, the first "=" of each part.
 *
 * The result is the one mailauth 7.1's parser gives, value for value (MIT, by Andris
 * Reinman; tag-list.test.ts holds the two together with property tests): the field read as
 * UTF-8, names folded to lower case, no whitespace left in b=, bh=, h= and p=, other values'
 * whitespace runs made one space, l=, t=, v= and x= (and i= of an ARC field) read as
 * numbers, the last of a repeated tag kept, the first part without "=" as `value`, later
 * ones as empty tags. Not for Authentication-Results fields (another grammar).
 */

/** Tag names that would reach an object's prototype: skipped, as mailauth does. */
const DANGEROUS = new Set(['prototype', ...Object.getOwnPropertyNames(Object.prototype)]);
/** Names the result uses itself. */
const RESERVED = new Set(['header', 'value']);
const WHITESPACE_FREE = new Set(['bh', 'b', 'p', 'h']);
const NUMERIC = new Set(['l', 'v', 't', 'x']);
const FWS_EDGES = /^[ \t\r\n]+|[ \t\r\n]+$/g;

const oneSpace = (text: string) => text.replace(/\s+/g, ' ').trim();

/** A value as mailauth normalises it for tag `key` of field `field`, as a string. */
function normalised(key: string, value: string, field: string | undefined): string {
  if (WHITESPACE_FREE.has(key)) return value.replace(/\s+/g, '');
  // mailauth turns these into numbers (isNaN('') is false: an empty one is 0).
  if (NUMERIC.has(key) && !Number.isNaN(Number(value))) return String(Number(value));
  if (key === 'i' && /^arc-/i.test(field ?? '')) return String(Number(value));
  return value;
}

/** The tags of `line` (a whole header field, name and colon included). */
export function tagValues(line: Buffer | string): Record<string, string | undefined> {
  let text = line.toString().trim();
  const colon = text.indexOf(':');
  let field: string | undefined;
  if (colon >= 0) {
    field = text.slice(0, colon).trim().toLowerCase();
    text = text.slice(colon + 1).trim();
  }
  const tags: Record<string, string | undefined> = { header: field };
  const keyOnly: string[] = [];
  let first: string | undefined;
  for (const segment of text.split(';')) {
    const trimmed = segment.replace(FWS_EDGES, '');
    if (!trimmed) continue;
    const eq = segment.indexOf('=');
    if (eq < 0) {
      if (first === undefined) first = oneSpace(trimmed).toLowerCase();
      else keyOnly.push(oneSpace(trimmed));
      continue;
    }
    const key = oneSpace(segment.slice(0, eq).replace(FWS_EDGES, '')).toLowerCase();
    if (!key || RESERVED.has(key) || DANGEROUS.has(key)) continue;
    tags[key] = normalised(key, oneSpace(segment.slice(eq + 1)), field);
  }
  for (const name of keyOnly) {
    const key = name.toLowerCase();
    if (key && !RESERVED.has(key) && !DANGEROUS.has(key)) tags[key] = '';
  }
  if (first !== undefined) tags.value = first;
  return tags;
}
