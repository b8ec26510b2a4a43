import { describe, expect, it } from 'vitest';
import { verpAddress, verpRecipient } from './verp.ts';

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
