/**
 * The web's credentials against both places they live: the files (state_dir/web, each host
 * its own) and PostgreSQL rows (every host sharing the database). Two views of one place, as
 * two hosts have them: a password set or changed on one signs in on the other, a token made on
 * one is found by the other until revoked on either; only hashes are kept; a revoked token is
 * never restored; admins restore forward only.
 */
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pruneState } from '../../src/cli/housekeeping.ts';
import { PgWebCredentials } from '../../src/state/pg-web-credentials.ts';
import {
  FileWebCredentials,
  REVOKED_KEEP_MS,
  tokenDigest,
  type WebCredentials,
} from '../../src/state/web-credentials.ts';
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

  it('housekeeping trims tombstones after 90 days; a trimmed token is still never restored', async () => {
    const { a, b, place, end } = await open();
    try {
      const old = await a.createToken(['list:red']);
      const older = await a.createToken(['admin']);
      const live = await a.createToken(['list:blue:read']);
      await a.revokeToken(old.record.id);
      await b.revokeToken(older.record.id);
      if (name === 'files')
        // A tombstone written before they had times: its 90 days start at the first trim.
        await writeFile(
          join(place, 'web', 'api-tokens-revoked.json'),
          JSON.stringify([
            ...JSON.parse(await readFile(join(place, 'web', 'api-tokens-revoked.json'), 'utf8')),
            'tok_legacy',
          ]),
        );
      const state = await mkdtemp(join(tmpdir(), 'malist-webcred-state-'));
      // Within the 90 days: every tombstone stays.
      const soon = await pruneState(
        state,
        Date.now() + REVOKED_KEEP_MS - 60_000,
        undefined,
        undefined,
        async () => b,
      );
      expect(soon.revoked).toBe(0);
      expect((await a.kept()).revoked).toContain(old.record.id);
      if (name === 'files')
        expect(await readFile(join(place, 'web', 'api-tokens-revoked.json'), 'utf8')).toMatch(
          /\{"id":"tok_legacy","at":"[^"]+"\}/,
        );
      // After them: both go, once.
      const later = Date.now() + REVOKED_KEEP_MS + 60_000;
      // (The legacy id's time began at the first trim: in real time now, 90 days before `later`.)
      expect((await pruneState(state, later, undefined, undefined, async () => b)).revoked).toBe(
        name === 'files' ? 3 : 2,
      );
      expect((await pruneState(state, later, undefined, undefined, async () => a)).revoked).toBe(0);
      expect((await a.kept()).revoked).toEqual([]);
      // Still refused, on both views; the token in force is untouched.
      for (const t of [old, older]) {
        expect(await a.findToken(t.token)).toBeUndefined();
        expect(await b.restoreToken(t.record)).toBe(false);
        expect(await a.findToken(t.token)).toBeUndefined();
      }
      expect((await b.tokens()).map((t) => t.id)).toEqual([live.record.id]);
      expect((await b.findToken(live.token))?.id).toBe(live.record.id);
      // A token made after the trimmed ones restores as before.
      const newer = {
        ...old.record,
        id: 'tok_0123456789ab',
        sha256: tokenDigest('malist_newer'),
        created: new Date(Date.now() + 5_000).toISOString(),
      };
      expect(await b.restoreToken(newer)).toBe(true);
      expect((await a.findToken('malist_newer'))?.id).toBe('tok_0123456789ab');
    } finally {
      await end();
    }
  });
});
