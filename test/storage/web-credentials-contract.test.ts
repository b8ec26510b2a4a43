/**
 * The web's credentials against both places they live: the files (state_dir/web, each host
 * its own) and PostgreSQL rows (every host sharing the database). Two views of one place, as
 * two hosts have them: a password set or changed on one signs in on the other, a token made on
 * one is found by the other until revoked on either; only hashes are kept; a revoked token is
 * never restored; admins restore forward only.
 */
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PgWebCredentials } from '../../src/state/pg-web-credentials.ts';
import { FileWebCredentials, type WebCredentials } from '../../src/state/web-credentials.ts';
import { bothBackends, type TwoViews } from '../helpers/store-contract.ts';

const files = async (): Promise<TwoViews<WebCredentials>> => {
  const dir = await mkdtemp(join(tmpdir(), 'malist-webcred-'));
  return {
    a: new FileWebCredentials(dir),
    b: new FileWebCredentials(dir),
    place: dir,
    end: async () => {},
  };
};

const backends = bothBackends('webcred', files, (db) => PgWebCredentials.open(db));

describe.each(backends)('web credentials contract: %s', (name, open) => {
  it('a password set on one host signs in on the other; a change takes effect on both', async () => {
    const { a, b, place, end } = await open();
    try {
      await a.setPassword('admin', 'correct horse battery');
      expect(await b.checkPassword('admin', 'correct horse battery')).toBe(true);
      expect(await b.checkPassword('admin', 'wrong horse battery')).toBe(false);
      expect(await b.checkPassword('nobody', 'correct horse battery')).toBe(false);
      await b.setPassword('admin', 'another staple here');
      expect(await a.checkPassword('admin', 'correct horse battery')).toBe(false);
      expect(await a.checkPassword('admin', 'another staple here')).toBe(true);
      await b.setPassword('ops', 'ops password 1');
      expect((await a.admins()).sort()).toEqual(['admin', 'ops']);
      await expect(a.setPassword('admin', 'short')).rejects.toThrow(/at least 10/);
      await expect(a.setPassword('bad name', 'long enough pw')).rejects.toThrow(/cannot name/);
      const { admins } = await a.kept();
      expect(admins.map((k) => k.hash).every((h) => h.startsWith('scrypt$'))).toBe(true);
      if (name === 'files') {
        const text = await readFile(join(place, 'web', 'admins.json'), 'utf8');
        expect(text).not.toContain('another staple');
      }
    } finally {
      await end();
    }
  });

  it('a token made on one host is found by the other until revoked on either', async () => {
    const { a, b, place, end } = await open();
    try {
      const { token, record } = await a.createToken(['list:red', 'admin'], 'ci');
      expect(token).toMatch(/^malist_/);
      expect(await b.findToken(token)).toMatchObject({
        id: record.id,
        scopes: ['list:red', 'admin'],
        name: 'ci',
        created: record.created,
      });
      expect(await b.findToken(`${token}x`)).toBeUndefined();
      expect((await b.tokens()).map((t) => t.id)).toEqual([record.id]);
      expect(JSON.stringify(await b.tokens())).not.toContain(token);
      if (name === 'files')
        for (const f of await readdir(join(place, 'web')))
          expect(await readFile(join(place, 'web', f), 'utf8')).not.toContain(token);
      expect(await b.revokeToken(record.id)).toBe(true);
      expect(await a.findToken(token)).toBeUndefined();
      expect(await a.tokens()).toEqual([]);
      expect(await a.revokeToken(record.id)).toBe(false);
      expect(await a.revokeToken('tok_nothing')).toBe(false);
      await expect(a.createToken([], 'x')).rejects.toThrow(/at least one/);
      await expect(a.createToken(['everything'])).rejects.toThrow(/is not a scope/);
    } finally {
      await end();
    }
  });

  it('restores forward only: a revoked token stays revoked, a later password stays', async () => {
    const { a, b, end } = await open();
    try {
      const { token, record } = await a.createToken(['list:red:read']);
      await a.revokeToken(record.id);
      expect(await b.restoreToken(record)).toBe(false);
      expect(await b.findToken(token)).toBeUndefined();
      expect((await b.kept()).revoked).toEqual([record.id]);
      const other = await a.createToken(['admin']);
      expect(await b.restoreToken(other.record)).toBe(false); // there already
      expect(await b.restoreRevoked(other.record.id)).toBe(true);
      expect(await a.findToken(other.token)).toBeUndefined();
      expect(await b.restoreRevoked(other.record.id)).toBe(false);
      expect(await b.restoreRevoked('tok_elsewhere')).toBe(true);
      expect((await a.kept()).revoked.sort()).toEqual(
        [record.id, other.record.id, 'tok_elsewhere'].sort(),
      );
      await a.setPassword('admin', 'correct horse battery');
      const [kept] = (await a.kept()).admins;
      expect(
        await b.restoreAdmin({ ...kept!, hash: 'older', changed: '2000-01-01T00:00:00.000Z' }),
      ).toBe(false);
      expect(await b.checkPassword('admin', 'correct horse battery')).toBe(true);
      expect(await b.restoreAdmin({ ...kept!, user: 'new' })).toBe(true);
      expect(await a.checkPassword('new', 'correct horse battery')).toBe(true);
    } finally {
      await end();
    }
  });
});
