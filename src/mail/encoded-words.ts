/** RFC 2047 encoded words, through libmime (the parser nodemailer and mailparser use). */
import { libmime } from './lazy.ts';

/** Decodes encoded words; never throws (a broken word is left as it is). */
export function decodeWords(value: string): string {
  if (!value.includes('=?')) return value;
  try {
    return libmime().decodeWords(value);
  } catch {
    return value;
  }
}

/** Plain ASCII: written as it is. */
const ASCII = /^[\x00-\x7f]*$/;

/** Encodes `value` as encoded words when it is not plain ASCII; ASCII passes unchanged. */
export function encodeWordsIfNeeded(value: string): string {
  if (ASCII.test(value)) return value;
  return libmime().encodeWords(value, 'Q', 52);
}

/**
 * A display name as RFC 2047 encoded words when it is not plain ASCII: the whole phrase, so
 * its specials (`,` `;` `<` `"` …) are encoded too — encoding only the non-ASCII words left
 * `=?UTF-8?Q?=C2=A1?= ,`, which a reader splits into two mailboxes. ASCII passes unchanged.
 */
export function encodePhraseIfNeeded(value: string): string {
  if (ASCII.test(value)) return value;
  return libmime().encodeWord(value, 'Q', 52);
}
