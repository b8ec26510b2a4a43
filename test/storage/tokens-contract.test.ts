/**
 * The token store's contract against both places its pending actions live: the files
 * (state_dir/tokens) and PostgreSQL rows. A token from one process is good in another,
 * used once across them, void when forged or expired, and expiry hands back what was
 * pending.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/state/pg.ts';
import { PgPendingStore } from '../../src/state/pg-tokens.ts';
import { TokenStore } from '../../src/state/tokens.ts';
import { type Postgres, postgresAvailable, startPostgres } from '../helpers/postgres.ts';

const available = postgresAvailable();
const SECRET = Buffer.alloc(32, 7);
let pg: Postgres | undefined;
let databases = 0;

/** Two token stores over one place, as two processes (or hosts) have them. */
type Open = () => Promise<{ a: TokenStore; b: TokenStore; end(): Promise<void> }>;

const files: Open = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'malist-tokens-'));
  return { a: new TokenStore(dir, SECRET), b: new TokenStore(dir, SECRET), end: async () => {} };
};

const postgres: Open = async () => {
  const url = await pg!.createDatabase(`tokens_${++databases}`);
  const [dbA, dbB] = await Promise.all([openDatabase(url), openDatabase(url)]);
  return {
    a: new TokenStore(await PgPendingStore.open(dbA), SECRET),
    b: new TokenStore(await PgPendingStore.open(dbB), SECRET),
    async end() {
      await dbA.close();
      await dbB.close();
    },
  };
};

const backends: [string, Open][] = [['files', files]];
if (available) backends.push(['postgres', postgres]);

beforeAll(async () => {
  if (available) pg = await startPostgres();
}, 120_000);
afterAll(() => pg?.stop());

describe.each(backends)('token store contract: %s', (_name, open) => {
  it('a token made by one is good in the other, once, whoever asks first', async () => {
    const { a, b, end } = await open();
    try {
      const token = await a.create('subscribe', 'red', { address: 'ann@example.org' }, 60_000);
      expect(await b.peek(token)).toMatchObject({
        kind: 'subscribe',
        list: 'red',
        data: { address: 'ann@example.org' },
      });
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).consume(token)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await a.peek(token)).toBeUndefined();
      expect(await b.consume(token)).toBeUndefined();
    } finally {
      await end();
    }
  });

  it('refuses a forged or altered token and an expired one; expiry returns what was pending', async () => {
    const { a, b, end } = await open();
    try {
      const now = Date.now();
      const token = await a.create('moderate', 'red', { held: 'x' }, 1_000, now);
      const flipped = `${token.slice(0, -1)}${token.endsWith('0') ? '1' : '0'}`;
      expect(await b.peek(flipped)).toBeUndefined();
      expect(await b.peek('0'.repeat(32))).toBeUndefined();
      const other = new TokenStore(join(tmpdir(), 'nowhere'), Buffer.alloc(32, 8));
      expect(await other.peek(token)).toBeUndefined();
      expect(await b.peek(token, now + 2_000)).toBeUndefined();
      const kept = await a.create('subscribe', 'red', { address: 'b@example.org' }, 60_000, now);
      const used = await a.create('subscribe', 'red', { address: 'c@example.org' }, 1_000, now);
      expect(await b.consume(used, now)).toBeDefined();
      const gone = await b.expire(now + 2_000);
      expect(gone.map((p) => p.data)).toEqual([{ held: 'x' }]);
      expect(await a.peek(kept, now + 2_000)).toBeDefined();
      expect(await a.expire(now + 2_000)).toEqual([]);
    } finally {
      await end();
    }
  });
});
