/** File-system names derived from config or mail can never escape their directory. */
import { createHash } from 'node:crypto';

const SAFE = /^[a-z0-9][a-z0-9._+=@-]{0,100}$/i;

/**
 * `value` itself when it is a plain name (letters, digits, . _ + = @ -, not starting with a
 * dot, no `..`), else a readable prefix plus a hash: never a path separator, never `..`.
 */
export function safeName(value: string): string {
  if (SAFE.test(value) && !value.includes('..')) return value;
  const readable = value
    .replace(/[^a-z0-9._+=@-]+/gi, '_')
    .replace(/\.{2,}/g, '_')
    .replace(/^[._]+/, '');
  const hash = createHash('sha256').update(value).digest('hex').slice(0, 12);
  return `${readable.slice(0, 60)}_${hash}`;
}
