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

/** Encodes `value` as encoded words when it is not plain ASCII; ASCII passes unchanged. */
export function encodeWordsIfNeeded(value: string): string {
  if (/^[\x00-\x7f]*$/.test(value)) return value;
  return libmime().encodeWords(value, 'Q', 52);
}
