import { describe, expect, it } from 'vitest';
import { addressRole } from './roles.ts';
import type { ListSettings } from './settings.ts';

const red: ListSettings = { name: 'red', address: 'red@list.example', members: [] };
const TOKEN = `${'a'.repeat(32)}-${'b'.repeat(24)}`;

describe('addressRole', () => {
  it.each([
    ['red@list.example', { role: 'post' }],
    ['RED@List.Example', { role: 'post' }],
    ['red-request@list.example', { role: 'request' }],
    ['red-join@list.example', { role: 'request', command: { verb: 'subscribe' } }],
    ['red-leave@list.example', { role: 'request', command: { verb: 'unsubscribe' } }],
    ['red+subscribe@list.example', { role: 'request', command: { verb: 'subscribe' } }],
    ['red+unsubscribe@list.example', { role: 'request', command: { verb: 'unsubscribe' } }],
    ['red-request+subscribe@list.example', { role: 'request', command: { verb: 'subscribe' } }],
    [
      `red-confirm+${TOKEN}@list.example`,
      { role: 'request', command: { verb: 'confirm', token: TOKEN } },
    ],
    ['red-confirm+nonsense@list.example', { role: 'request' }],
    ['red-bounces@list.example', { role: 'bounces' }],
    ['red-owner@list.example', { role: 'owner' }],
    [
      'red-bounces+alice=example.com@list.example',
      { role: 'bounces', verp: { recipient: 'alice@example.com' } },
    ],
    [
      'red-bounces+Alice=Example.com+K7Q2M4X6ZA@list.example',
      { role: 'bounces', verp: { recipient: 'alice@example.com', cookie: 'k7q2m4x6za' } },
    ],
    [
      'red-bounces+alice+news=example.com+k7q2m4x6za@list.example',
      { role: 'bounces', verp: { recipient: 'alice+news@example.com', cookie: 'k7q2m4x6za' } },
    ],
    [
      'red-bounces+abcdefghijklmnop+k7q2m4x6za@list.example',
      { role: 'bounces', verp: { token: 'abcdefghijklmnop', cookie: 'k7q2m4x6za' } },
    ],
  ])('%s', (address, want) => {
    expect(addressRole(red, address)).toEqual(want);
  });

  it.each([
    'red@other.example',
    'redx-request@list.example',
    'red-request@list.example.evil',
    'red+request@list.example',
    'blue@list.example',
  ])('not one of the list addresses: %s', (address) => {
    expect(addressRole(red, address)).toBeUndefined();
  });

  it('uses a configured bounce address, with VERP', () => {
    const list = { ...red, bounce_address: 'bounces@mx.example' };
    expect(addressRole(list, 'bounces+bob=example.org@mx.example')).toEqual({
      role: 'bounces',
      verp: { recipient: 'bob@example.org' },
    });
    expect(addressRole(list, 'red-bounces@list.example')).toBeUndefined();
  });

  it('reads the VERP form of a list whose delimiter is "-"', () => {
    const list = { ...red, verp_delimiter: '-' as const };
    expect(addressRole(list, 'red-bounces-mary-jo=example.org-k7q2m4x6za@list.example')).toEqual({
      role: 'bounces',
      verp: { recipient: 'mary-jo@example.org', cookie: 'k7q2m4x6za' },
    });
  });
});
