/**
 * The post counters' contract against both places they live: a file per list under the
 * lists' state directory, and PostgreSQL rows. Numbers count from 1 per list; the same mail
 * keeps its number whoever asks again; two processes (or hosts) numbering at once never give
 * two posts one number, and burn none.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileCounters, type PostCounters, type StoredCounter } from '../../src/state/counters.ts';
import { PgCounters } from '../../src/state/pg-counters.ts';
import { bothBackends, collect, type TwoViews } from '../helpers/store-contract.ts';

const files = async (): Promise<TwoViews<PostCounters>> => {
  const dir = await mkdtemp(join(tmpdir(), 'malist-counters-'));
  return { a: new FileCounters(dir), b: new FileCounters(dir), place: dir, end: async () => {} };
};

const backends = bothBackends('counters', files, (db) => PgCounters.open(db));

describe.each(backends)('post counter contract: %s', (_name, open) => {
  it('counts from 1 per list, and a mail keeps its number whoever asks', async () => {
    const { a, b, end } = await open();
    try {
      expect(await a.numberFor('red', 'k1')).toBe(1);
      expect(await b.numberFor('red', 'k2')).toBe(2);
      expect(await b.numberFor('red', 'k1')).toBe(1);
      expect(await a.numberFor('blue', 'k1')).toBe(1);
      expect(await a.numberFor('red', 'k3')).toBe(3);
    } finally {
      await end();
    }
  });

  it('both numbering at once: every post one number, none twice, none burnt', async () => {
    const { a, b, end } = await open();
    try {
      const keys = Array.from({ length: 40 }, (_, i) => `post-${i}`);
      // Every key asked by both at once (a retry on the other host racing the first try).
      const got = await Promise.all(
        keys.flatMap((k, i) => [
          (i % 2 ? a : b).numberFor('red', k).then((n) => [k, n] as const),
          (i % 2 ? b : a).numberFor('red', k).then((n) => [k, n] as const),
        ]),
      );
      const byKey = new Map<string, Set<number>>();
      for (const [k, n] of got) byKey.set(k, (byKey.get(k) ?? new Set()).add(n));
      for (const k of keys) expect(byKey.get(k)?.size).toBe(1);
      const numbers = keys.map((k) => [...byKey.get(k)!][0]!).sort((x, y) => x - y);
      expect(numbers).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      expect(await a.numberFor('red', 'after')).toBe(41);
    } finally {
      await end();
    }
  }, 120_000);

  it('lists each counter for a migration, and merging one only raises it', async () => {
    const { a, b, end } = await open();
    try {
      await a.numberFor('red', 'k1');
      await a.numberFor('red', 'k2');
      const all: StoredCounter[] = await collect(b.all());
      expect(all).toEqual([
        {
          list: 'red',
          next: 3,
          recent: [
            ['k1', 1],
            ['k2', 2],
          ],
        },
      ]);
      expect(await b.merge({ list: 'red', next: 2, recent: [['k1', 1]] })).toBe(false);
      expect(await b.merge({ list: 'red', next: 10, recent: [['k9', 9]] })).toBe(true);
      expect(await a.numberFor('red', 'k9')).toBe(9);
      expect(await a.numberFor('red', 'k10')).toBe(10);
      expect(await b.merge({ list: 'green', next: 5, recent: [] })).toBe(true);
      expect(await a.numberFor('green', 'x')).toBe(5);
    } finally {
      await end();
    }
  });
});
