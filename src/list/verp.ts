/**
 * A list's VERP addresses, each with a cookie made under the installation secret, so a
 * bounce to one names its member exactly and a forger cannot make one:
 *
 * - a post's copy for alice goes out from `red-bounces+alice=example.com+COOKIE@…`, the
 *   cookie an HMAC of (list, member, the week it was sent); it stays good for COOKIE_WEEKS
 *   weeks (the relay may retry for five days before it bounces, after our own retries);
 * - a probe goes out from the same form with a probe cookie, an HMAC of (list, member, the
 *   probe's nonce kept in the bounce record), so only a bounce of that very probe matches;
 * - when `local=domain` would push the local part past RFC 5321's 64 octets, an opaque
 *   token (an HMAC of list and member) stands for the member; the bounce handler finds the
 *   member whose token it is.
 *
 * Cookies and tokens are cut to 10 and 16 base32 characters (50 and 80 bits): a guess
 * succeeds once in 2^50 tries per week, and each try is a mail to the list.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { normalizeAddress } from '../mail/address.ts';
import {
  localPartLength,
  MAX_LOCAL_PART,
  VERP_COOKIE_LENGTH,
  VERP_TOKEN_LENGTH,
  verpEncode,
} from '../mail/verp.ts';
import { bounceAddress } from './addresses.ts';
import type { ListSettings } from './settings.ts';

const WEEK_MS = 7 * 86_400_000;
/** Weeks a post's cookie is accepted: the week it was sent in and the two after. */
export const COOKIE_WEEKS = 3;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

function base32(bytes: Buffer, length: number): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < length) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    if (out.length >= length) break;
  }
  return out;
}

function mac(secret: Buffer, fields: readonly string[], length: number): string {
  return base32(createHmac('sha256', secret).update(fields.join('\n')).digest(), length);
}

/** The week number of a time (ms), the cookie's coarse date. */
export function cookieWeek(now: number): number {
  return Math.floor(now / WEEK_MS);
}

/** The cookie of a post's copy to `member`, sent in `week`. */
export function postCookie(secret: Buffer, list: string, member: string, week: number): string {
  return mac(secret, ['verp', list, normalizeAddress(member), String(week)], VERP_COOKIE_LENGTH);
}

/** The cookie of the probe to `member` whose nonce is `nonce`. */
export function probeCookie(secret: Buffer, list: string, member: string, nonce: string): string {
  return mac(secret, ['probe', list, normalizeAddress(member), nonce], VERP_COOKIE_LENGTH);
}

/** The opaque token standing for `member` in the list's VERP addresses. */
export function memberToken(secret: Buffer, list: string, member: string): string {
  return mac(secret, ['verp-id', list, normalizeAddress(member)], VERP_TOKEN_LENGTH);
}

/** The character between the bounce address's local part and what VERP adds. @default '+' */
export function verpDelimiter(list: ListSettings): string {
  return list.verp_delimiter ?? '+';
}

function encode(list: ListSettings, secret: Buffer, member: string, cookie: string): string {
  const sender = bounceAddress(list);
  const delimiter = verpDelimiter(list);
  const plain = verpEncode(sender, { recipient: member }, cookie, delimiter);
  if (localPartLength(plain) <= MAX_LOCAL_PART) return plain;
  return verpEncode(sender, { token: memberToken(secret, list.name, member) }, cookie, delimiter);
}

/** The envelope sender of `member`'s copy of a post sent at `now`. */
export function memberBounceAddress(
  list: ListSettings,
  secret: Buffer,
  member: string,
  now: number,
): string {
  return encode(list, secret, member, postCookie(secret, list.name, member, cookieWeek(now)));
}

/** The envelope sender of a probe to `member`. */
export function probeBounceAddress(
  list: ListSettings,
  secret: Buffer,
  member: string,
  nonce: string,
): string {
  return encode(list, secret, member, probeCookie(secret, list.name, member, nonce));
}

/** Constant-time comparison of two cookies. */
export function sameCookie(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** True when `cookie` is a post cookie of `member` from the accepted weeks before `now`. */
export function isPostCookie(
  secret: Buffer,
  list: string,
  member: string,
  cookie: string,
  now: number,
): boolean {
  const week = cookieWeek(now);
  // One week ahead too: the sending machine's clock may run ahead of this one.
  for (let w = week + 1; w > week - COOKIE_WEEKS; w--)
    if (sameCookie(postCookie(secret, list, member, w), cookie)) return true;
  return false;
}
