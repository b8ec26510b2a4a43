/**
 * The request memos' and the notice counts' contract against both places they live: the
 * files (state_dir/requests, state_dir/notices) and PostgreSQL rows. A memo written by one
 * process is read by another (a replay on another host returns the same replies); the daily
 * notice budget of a mailbox is one budget, however many processes take from it at once.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NoticeRateLimit } from '../../src/notices/rate-limit.ts';
import {
  FileMemoStore,
  FileNoticeCounts,
  type MemoStore,
  type NoticeCounts,
  type StoredCount,
  type StoredMemo,
} from '../../src/state/memos.ts';
import { PgMemoStore, PgNoticeCounts } from '../../src/state/pg-memos.ts';
import { bothBackends, collect, type TwoViews } from '../helpers/store-contract.ts';

interface Side {
  memos: MemoStore;
  counts: NoticeCounts;
}

/** Two processes' (or hosts') view of one place. */
const files = async (): Promise<TwoViews<Side>> => {
  const dir = await mkdtemp(join(tmpdir(), 'malist-memos-'));
  const side = () => ({
    memos: new FileMemoStore(join(dir, 'requests')),
    counts: new FileNoticeCounts(join(dir, 'notices')),
  });
  return { a: side(), b: side(), place: dir, end: async () => {} };
};

const backends = bothBackends(
  'memos',
  files,
  async (db): Promise<Side> => ({
    memos: await PgMemoStore.open(db),
    counts: await PgNoticeCounts.open(db),
  }),
);

const memo = (text: string) => ({
  replies: [
    { to: 'ann@example.org', raw: Buffer.from(`Subject: ${text}\r\n\r\nbody\xff`, 'latin1') },
    {
      to: 'bob@example.org',
      raw: Buffer.from('probe'),
      from: 'red-bounces+x@example.org',
      key: 'probe-1',
    },
  ],
  consume: ['tok-1', 'tok-2'],
});

describe.each(backends)('request memo and notice count contract: %s', (_name, open) => {
  it('a memo written by one is read by the other, bytes and all; a missing one is undefined', async () => {
    const { a, b, end } = await open();
    try {
      expect(await b.memos.get('red', 'k1')).toBeUndefined();
      await a.memos.put('red', 'k1', memo('one'));
      const seen = await b.memos.get('red', 'k1');
      expect(seen).toEqual(memo('one'));
      expect(Buffer.isBuffer(seen?.replies[0]?.raw)).toBe(true);
      // Another list's memo of the same key is another memo.
      expect(await b.memos.get('blue', 'k1')).toBeUndefined();
      // Writing again (a replay that got as far as the memo) replaces it.
      await b.memos.put('red', 'k1', memo('two'));
      expect(await a.memos.get('red', 'k1')).toEqual(memo('two'));
    } finally {
      await end();
    }
  });

  it('both writing memos at once: each sees every one', async () => {
    const { a, b, end } = await open();
    try {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? a : b).memos.put('red', `key-${i}`, memo(String(i))),
        ),
      );
      for (const side of [a, b])
        for (let i = 0; i < 20; i++)
          expect(await side.memos.get('red', `key-${i}`)).toEqual(memo(String(i)));
    } finally {
      await end();
    }
  });

  it('lists every memo with its list and key as given, and prunes the old ones', async () => {
    const { a, b, end } = await open();
    try {
      await a.memos.put('red', 'plain-key', memo('p'));
      await a.memos.put('red.bounces', '<odd/key@example.org>', memo('q'));
      const all: StoredMemo[] = await collect(b.memos.all());
      expect(all.map((m) => [m.list, m.key]).sort()).toEqual([
        ['red', 'plain-key'],
        ['red.bounces', '<odd/key@example.org>'],
      ]);
      expect(all.find((m) => m.key === 'plain-key')?.memo).toEqual(memo('p'));
      const now = Date.now();
      expect(await b.memos.prune(3_600_000, now)).toBe(0);
      expect(await b.memos.prune(3_600_000, now + 2 * 3_600_000)).toBe(2);
      expect(await a.memos.get('red', 'plain-key')).toBeUndefined();
    } finally {
      await end();
    }
  });

  it('the daily notice budget is one budget for both, taken at once', async () => {
    const { a, b, end } = await open();
    try {
      const la = new NoticeRateLimit(a.counts, { per_day: 3 });
      const lb = new NoticeRateLimit(b.counts, { per_day: 3 });
      const at = Date.UTC(2026, 11, 5, 12);
      // One mailbox however written: tagged, quoted, upper case.
      const forms = ['victim@example.org', 'VICTIM+x@example.org', '"victim"@Example.org'];
      const taken = await Promise.all(
        Array.from({ length: 12 }, (_, i) => (i % 2 ? la : lb).take(forms[i % 3]!, at)),
      );
      expect(taken.filter(Boolean)).toHaveLength(3);
      expect(await la.take('other@example.org', at)).toBe(true);
      // The next day is a new budget; yesterday's counts are dropped.
      expect(await lb.take('victim@example.org', at + 86_400_000)).toBe(true);
      const left: StoredCount[] = await collect(a.counts.all());
      expect(left.map((c) => c.day)).toEqual(['2026-12-06']);
      expect(left[0]?.count).toBe(1);
    } finally {
      await end();
    }
  });

  it('a copied count only raises what is there', async () => {
    const { a, b, end } = await open();
    try {
      await a.counts.raise('2026-12-05', 'abc', 2);
      await b.counts.raise('2026-12-05', 'abc', 1);
      expect(await collect(b.counts.all())).toEqual([
        { day: '2026-12-05', mailbox: 'abc', count: 2 },
      ]);
      expect(await a.counts.take('2026-12-05', 'abc', 3)).toBe(true);
      expect(await b.counts.take('2026-12-05', 'abc', 3)).toBe(false);
    } finally {
      await end();
    }
  });
});
