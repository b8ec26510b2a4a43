/**
 * The list's one Authentication-Results field (RFC 8601): its verification of the incoming
 * post under its own authserv-id, on top of the header, after removing every field that
 * already claims that id (section 5: such a field came from outside and is a forgery, or a
 * stale copy from an earlier pass through the list). Fields of other ids stay, byte for byte.
 */
import type { HeaderBlock } from '../mail/header-block.ts';
import { authservIdOf } from './auth-results.ts';
import type { AuthVerdict } from './verify.ts';

const FIELD = 'Authentication-Results';
/** RFC 8601 section 2.2: an authserv-id is a value (a token or a quoted string). */
const TOKEN = /^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+$/;

/**
 * The field value: `authserv-id;` then one resinfo per check, folded one per line (also the
 * ARC-Authentication-Results payload of a seal); `authserv-id; none` when nothing was checked.
 */
export function authResultsValue(verdict: Pick<AuthVerdict, 'authservId' | 'results'>): string {
  const id = TOKEN.test(verdict.authservId)
    ? verdict.authservId
    : `"${verdict.authservId.replace(/["\\]/g, '\\$&')}"`;
  const rows = verdict.results.map((r) => r.replace(/[\r\n]+[ \t]*/g, ' ').trim());
  return rows.length === 0 ? `${id}; none` : `${id};\r\n ${rows.join(';\r\n ')}`;
}

/**
 * Removes the fields claiming `verdict.authservId` and puts the list's own on top; returns
 * how many forged fields went. Every other field keeps its bytes.
 */
export function stampAuthResults(header: HeaderBlock, verdict: AuthVerdict): number {
  const ownId = verdict.authservId.toLowerCase();
  const removed = header.removeWhere(
    (name, field) =>
      name.toLowerCase() === 'authentication-results' && authservIdOf(field.raw) === ownId,
  );
  header.add(FIELD, authResultsValue(verdict).replace(/\r\n /g, ' '), 'prepend');
  return removed;
}
