import { describe, expect, it } from 'vitest';
import { listFilter } from './list-prefilter.ts';

const mayBeFor = (text: string, name: string, recipient: string) =>
  listFilter(recipient)(text, name);

const red = 'address: red@list.example.com\nposting: members\nmembers:\n  - a@example.org\n';

describe('listFilter: which list files a recipient could be for, from their text', () => {
  it('keeps the list for every address it answers to', () => {
    for (const recipient of [
      'red@list.example.com',
      'RED@List.Example.com',
      '<red@list.example.com>',
      'red-request@list.example.com',
      'red-owner@list.example.com',
      'red-bounces@list.example.com',
      'red-bounces+alice=example.org+k2j3@list.example.com',
      'red+subscribe@list.example.com',
      'red-confirm+0123@list.example.com',
      // The fallback by local part: an alias on another domain.
      'red@lists.example.net',
    ])
      expect(mayBeFor(red, 'red', recipient), recipient).toBe(true);
  });

  it("drops a list whose address and name begin no recipient's local part", () => {
    expect(mayBeFor(red, 'red', 'blue@list.example.com')).toBe(false);
    expect(mayBeFor(red, 'red', 're@list.example.com')).toBe(false);
    expect(mayBeFor(red, 'red', 'dev-request@list.example.com')).toBe(false);
  });

  it('keeps by the file name, whatever the address says', () => {
    expect(mayBeFor('address: crimson@list.example.com\n', 'red', 'red@example.org')).toBe(true);
  });

  it('reads quoted values and comments', () => {
    for (const line of [
      'address: "red@list.example.com"',
      "address: 'red@list.example.com' # the posting address",
      'address:   red@list.example.com   # trailing comment',
    ]) {
      expect(mayBeFor(`${line}\n`, 'x', 'red@list.example.com'), line).toBe(true);
      expect(mayBeFor(`${line}\n`, 'x', 'blue@list.example.com'), line).toBe(false);
    }
  });

  it('keeps what it cannot tell: a bounce_address, no plain address line, two of them, anchors', () => {
    const other = 'blue@list.example.com';
    for (const text of [
      `${red}bounce_address: bounces@mail.example.net\n`,
      'posting: open\n',
      '"address": red@list.example.com\n',
      'address: &a red@list.example.com\n',
      'address: *a\n',
      'address: Red Team <red@list.example.com>\n',
      'address: >-\n  red@list.example.com\n',
      'address: red@list.example.com\naddress: blue@list.example.com\n',
      '{address: red@list.example.com}\n',
    ])
      expect(mayBeFor(text, 'x', other), text).toBe(true);
  });

  it('reads a file with CRLF line ends; one with a byte-order mark is kept', () => {
    const crlf = 'address: red@list.example.com\r\nposting: open\r\n';
    expect(mayBeFor(crlf, 'x', 'red@list.example.com')).toBe(true);
    expect(mayBeFor(crlf, 'x', 'blue@list.example.com')).toBe(false);
    expect(mayBeFor(`\uFEFF${crlf}`, 'x', 'blue@list.example.com')).toBe(true);
  });

  it('does not take an indented address (a nested key) for the list address', () => {
    const text = 'address: red@list.example.com\narchive:\n  address: blue@list.example.com\n';
    expect(mayBeFor(text, 'x', 'blue@list.example.com')).toBe(false);
    expect(mayBeFor(text, 'x', 'red@list.example.com')).toBe(true);
  });
});
