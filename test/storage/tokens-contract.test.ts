/**
 * The token store's contract against both places its pending actions live: the files
 * (state_dir/tokens) and PostgreSQL rows. A token from one process is good in another,
 * used once across them, void when forged or expired, and expiry hands back what was
 * pending.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PgPendingStore } from '../../src/state/pg-tokens.ts';
import { TokenStore } from '../../src/state/tokens.ts';
import { bothBackends, type TwoViews } from '../helpers/store-contract.ts';

const SECRET = Buffer.alloc(32, 7);

/** Two token stores over one place, as two processes (or hosts) have them. */
const files = async (): Promise<TwoViews<TokenStore>> => {
  const dir = await mkdtemp(join(tmpdir(), 'malist-tokens-'));
  return {
    a: new TokenStore(dir, SECRET),
    b: new TokenStore(dir, SECRET),
    place: dir,
    end: async () => {},
  };
};

const backends = bothBackends(
  'tokens',
  files,
  async (db) => new TokenStore(await PgPendingStore.open(db), SECRET),
);

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
