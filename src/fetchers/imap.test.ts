/** Pure parts of the imap fetcher; the fetcher itself is tested against Dovecot in test/fetchers. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { uidSet } from '../imap/session.ts';
import createImapFetcher, { type ImapOptions } from './imap.ts';

describe('uidSet', () => {
  it('compacts runs', () => {
    expect(uidSet([1, 2, 3, 7, 9, 10])).toBe('1:3,7,9:10');
    expect(uidSet([5])).toBe('5');
    expect(uidSet([3, 1, 2, 2])).toBe('1:3');
    expect(uidSet([])).toBe('');
  });

  it('names exactly the given UIDs', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 200 }), { maxLength: 60 }), (uids) => {
        const named = new Set<number>();
        for (const part of uidSet(uids).split(',').filter(Boolean)) {
          const [from, to] = part.split(':').map(Number) as [number, number | undefined];
          for (let u = from; u <= (to ?? from); u++) named.add(u);
        }
        expect([...named].sort((a, b) => a - b)).toEqual([...new Set(uids)].sort((a, b) => a - b));
      }),
    );
  });
});

describe('imap options', () => {
  const base = { host: 'h', user: 'u', password: 'p', stateDir: '/s' };
  it('are checked up front, prefixed with the unit name', () => {
    expect(() => createImapFetcher({ ...base, stateDir: '' })).toThrow(
      /^imap: `stateDir` is required/,
    );
    expect(() => createImapFetcher({ ...base, tls: 'ssl' as never })).toThrow(
      /^imap: `tls` must be/,
    );
    expect(() => createImapFetcher({ ...base, port: 0 })).toThrow(/^imap: `port` must be/);
    expect(() => createImapFetcher({ ...base, moveTo: '' })).toThrow(/^imap: `moveTo` must name/);
    expect(() => createImapFetcher({ host: 'h' } as ImapOptions)).toThrow(
      /^imap: `user` is required/,
    );
  });
});
