import { describe, expect, it } from 'vitest';
import { localPartLength, verpAddress, verpDecode, verpEncode, verpRecipient } from './verp.ts';

describe('verp', () => {
  it('encodes the recipient into the bounce address and back', () => {
    const address = verpAddress('red-bounces@list.example', 'alice@example.com');
    expect(address).toBe('red-bounces+alice=example.com@list.example');
    expect(verpRecipient('red-bounces@list.example', address)).toBe('alice@example.com');
    expect(verpRecipient('red-bounces@list.example', 'other@list.example')).toBeUndefined();
  });
  it('leaves the null sender alone', () => {
    expect(verpAddress('', 'a@b.c')).toBe('');
  });
});

describe('verp with a cookie', () => {
  const sender = 'red-bounces@list.example';
  it('encodes who and the cookie, and decodes them back', () => {
    const address = verpEncode(sender, { recipient: 'alice+news@example.com' }, 'k7q2m4x6za');
    expect(address).toBe('red-bounces+alice+news=example.com+k7q2m4x6za@list.example');
    expect(verpDecode(sender, address)).toEqual({
      recipient: 'alice+news@example.com',
      cookie: 'k7q2m4x6za',
    });
    const token = verpEncode(sender, { token: 'abcdefghijklmnop' }, 'k7q2m4x6za');
    expect(verpDecode(sender, token.toUpperCase())).toEqual({
      token: 'abcdefghijklmnop',
      cookie: 'k7q2m4x6za',
    });
  });
  it('reads an address without a cookie, and refuses what is not one', () => {
    expect(verpDecode(sender, 'red-bounces+bob=example.org@list.example')).toEqual({
      recipient: 'bob@example.org',
    });
    // A '+' tag in the member's address is not taken for a cookie.
    expect(verpDecode(sender, 'red-bounces+bob+abcdefghij=example.org@list.example')).toEqual({
      recipient: 'bob+abcdefghij@example.org',
    });
    expect(verpDecode(sender, 'red-bounces@list.example')).toBeUndefined();
    expect(verpDecode(sender, 'red-bounces+nonsense@list.example')).toBeUndefined();
    expect(verpDecode(sender, 'red-bounces+a=b@other.example')).toBeUndefined();
  });
  it('counts the local part in octets', () => {
    expect(localPartLength('ä@b.c')).toBe(2);
  });
});
