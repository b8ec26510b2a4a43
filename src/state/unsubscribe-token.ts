/**
 * The token of a personalised unsubscribe URL (RFC 8058): an HMAC of the list and the
 * member's normal address, so the URL works from any copy of any post, needs no server
 * state and cannot be made for someone else. Fill `unsubscribe_url`'s `{token}` with it.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { normalizeAddress } from '../mail/address.ts';

export function unsubscribeToken(secret: Buffer, list: string, member: string): string {
  return createHmac('sha256', secret)
    .update(`unsubscribe\n${list}\n${normalizeAddress(member)}`)
    .digest('hex')
    .slice(0, 32);
}

export function checkUnsubscribeToken(
  secret: Buffer,
  list: string,
  member: string,
  token: string,
): boolean {
  if (!normalizeAddress(member) || !/^[0-9a-f]{32}$/.test(token)) return false;
  return timingSafeEqual(Buffer.from(unsubscribeToken(secret, list, member)), Buffer.from(token));
}
