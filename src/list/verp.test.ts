import { describe, expect, it } from 'vitest';
import { verpDecode } from '../mail/verp.ts';
import type { ListSettings } from './settings.ts';
import {
  isPostCookie,
  memberBounceAddress,
  memberToken,
  probeBounceAddress,
  probeCookie,
} from './verp.ts';

const red: ListSettings = { name: 'red', address: 'red@list.example', members: [] };
const secret = Buffer.alloc(32, 7);
const now = Date.parse('2026-11-04T12:00:00Z');
const DAY = 86_400_000;

describe('list VERP addresses', () => {
  it('a post cookie names the member, is good for the weeks after, and is bound to the secret', () => {
    const address = memberBounceAddress(red, secret, 'Alice@Example.com', now);
    expect(address).toMatch(/^red-bounces\+alice=example\.com\+[a-z2-7]{10}@list\.example$/i);
    const parts = verpDecode('red-bounces@list.example', address)!;
    expect(isPostCookie(secret, 'red', 'alice@example.com', parts.cookie!, now)).toBe(true);
    expect(isPostCookie(secret, 'red', 'alice@example.com', parts.cookie!, now + 14 * DAY)).toBe(
      true,
    );
    expect(isPostCookie(secret, 'red', 'alice@example.com', parts.cookie!, now + 28 * DAY)).toBe(
      false,
    );
    expect(isPostCookie(secret, 'red', 'bob@example.com', parts.cookie!, now)).toBe(false);
    expect(isPostCookie(secret, 'blue', 'alice@example.com', parts.cookie!, now)).toBe(false);
    expect(isPostCookie(Buffer.alloc(32, 8), 'red', 'alice@example.com', parts.cookie!, now)).toBe(
      false,
    );
  });

  it('a long address is replaced by its token, keeping the local part within 64 octets', () => {
    const long = `${'x'.repeat(50)}@example.com`;
    const address = memberBounceAddress(red, secret, long, now);
    expect(address.split('@')[0]!.length).toBeLessThanOrEqual(64);
    expect(verpDecode('red-bounces@list.example', address)?.token).toBe(
      memberToken(secret, 'red', long),
    );
  });

  it('a probe has its own cookie, tied to its nonce', () => {
    const address = probeBounceAddress(red, secret, 'alice@example.com', 'n1');
    const parts = verpDecode('red-bounces@list.example', address)!;
    expect(parts.cookie).toBe(probeCookie(secret, 'red', 'alice@example.com', 'n1'));
    expect(parts.cookie).not.toBe(probeCookie(secret, 'red', 'alice@example.com', 'n2'));
    expect(isPostCookie(secret, 'red', 'alice@example.com', parts.cookie!, now)).toBe(false);
  });

  it('follows a configured bounce address and delimiter', () => {
    const list = { ...red, bounce_address: 'bounces@mx.example', verp_delimiter: '-' as const };
    expect(memberBounceAddress(list, secret, 'bob@example.org', now)).toMatch(
      /^bounces-bob=example\.org-[a-z2-7]{10}@mx\.example$/,
    );
  });
});
