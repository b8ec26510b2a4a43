/**
 * The bounce state's contract against both places it lives: the files under state_dir
 * (`bounces/`, `complaints/`) and PostgreSQL rows. Two storages over one place stand for two
 * hosts (on PostgreSQL each has its own pool and its own state_dir): a bounce recorded by
 * one scores the member for the other; at the threshold the member is probed, and set to
 * nomail only when the probe bounces; a quiet member's score decays; a reset starts again
 * from 0; two processes recording bounces of one member at once lose none; the sent index
 * one writes proves a report the other receives; a complaint counts once whoever receives
 * it. The migration methods (entries/restore, merge) copy what is not there yet.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { complaintStanding } from '../../src/bounces/complaints.ts';
import { pgBounceStorage } from '../../src/bounces/pg-store.ts';
import { type BounceEvent, recordBounce } from '../../src/bounces/record.ts';
import { decayedScore } from '../../src/bounces/score.ts';
import { readBounceStatus } from '../../src/bounces/status.ts';
import { type BounceStorage, fileBounceStorage } from '../../src/bounces/store.ts';
import createMemoryMemberStore from '../../src/members/memory.ts';
import type { MemberStore } from '../../src/members/store.ts';
import { runCommand } from '../cli/run-malist.ts';
import { bothBackends, type TwoViews } from '../helpers/store-contract.ts';

const DAY = 86_400_000;
const T0 = Date.parse('2026-11-02T12:00:00Z');
const CHILD = new URL('../helpers/bounce-writer-child.ts', import.meta.url).pathname;

/** Two storages over one place, as two hosts have them; `place` is what a child process opens. */
const files = async (): Promise<TwoViews<BounceStorage>> => {
  const dir = await mkdtemp(join(tmpdir(), 'malist-bounce-c-'));
  return {
    a: fileBounceStorage(dir),
    b: fileBounceStorage(dir),
    place: dir,
    end: () => rm(dir, { recursive: true, force: true }),
  };
};

const backends = bothBackends('bounces', files, pgBounceStorage);

const hard = (key: string, extra: Partial<BounceEvent> = {}): BounceEvent => ({
  address: 'Alice@Example.com',
  class: 'hard',
  action: 'failed',
  key,
  diagnostic: '550 5.1.1 no such user',
  source: 'verp',
  ...extra,
});

function members(): MemberStore {
  return createMemoryMemberStore({
    members: [{ address: 'alice@example.com' }, { address: 'bob@example.net' }],
  });
}

describe.each(backends)('bounce state on %s', (backend, open) => {
  it('records on one host, scores for the other: probe at the threshold, nomail on its bounce', async () => {
    const { a, b, end } = await open();
    try {
      const store = members();
      const options = { threshold: 2, daily_cap: 5 };
      const first = await recordBounce(hard('k1'), store, a.records('red'), options, T0);
      expect(first.result).toBe('scored');
      // The same bounce again, received by the other host: counted once.
      expect((await recordBounce(hard('k1'), store, b.records('red'), options, T0)).result).toBe(
        'repeat',
      );
      expect((await b.records('red').get('alice@example.com'))?.count).toBe(1);
      const second = await recordBounce(hard('k2'), store, b.records('red'), options, T0 + 1000);
      expect(second.result).toBe('probe');
      const nonce = second.probe!.nonce;
      expect((await a.records('red').get('ALICE@example.com'))?.probe?.nonce).toBe(nonce);
      // The probe's bounce, at host A: the member is set to nomail, the record says when.
      const third = await recordBounce(
        hard('k3', { probe: { nonce } }),
        store,
        a.records('red'),
        options,
        T0 + 2000,
      );
      expect(third.result).toBe('disabled');
      expect(await store.get('alice@example.com')).toMatchObject({
        nomail: true,
        nomail_reason: 'bounce',
      });
      const status = await readBounceStatus(b.records('red'), options, T0 + 3000);
      expect(status.get('alice@example.com')).toMatchObject({
        score: 2,
        count: 3,
        disabled_at: T0 + 2000,
        reason: '550 5.1.1 no such user',
      });
      // Lists are apart: blue has no record of alice.
      expect(await a.records('blue').all()).toEqual({});
    } finally {
      await end();
    }
  });

  it('a quiet member’s score decays, and an owner’s reset is seen by the other host', async () => {
    const { a, b, end } = await open();
    try {
      const store = members();
      const options = { threshold: 5, quiet_days: 7, half_life_days: 7 };
      for (const [i, day] of [0, 1, 2].entries())
        await recordBounce(hard(`d${i}`), store, a.records('red'), options, T0 + day * DAY);
      const record = (await b.records('red').get('alice@example.com'))!;
      expect(record.score).toBe(3);
      // 7 quiet days, then one half-life: half the score.
      expect(decayedScore(record, T0 + 2 * DAY + 14 * DAY, options)).toBeCloseTo(1.5);
      const later = await readBounceStatus(b.records('red'), options, T0 + 2 * DAY + 14 * DAY);
      expect(later.get('alice@example.com')?.score).toBe(1.5);

      // The owner re-enables: the score starts again from 0, the count stays.
      await b
        .records('red')
        .change('alice@example.com', (r) =>
          r ? { ...r, score: 0, day_added: 0, updated: T0 + 3 * DAY } : r,
        );
      expect((await a.records('red').get('alice@example.com'))?.score).toBe(0);
      expect((await a.records('red').get('alice@example.com'))?.count).toBe(3);
      // Dropping a record (an edit returning undefined) removes it for both.
      await a.records('red').change('alice@example.com', () => undefined);
      expect(await b.records('red').all()).toEqual({});
    } finally {
      await end();
    }
  });

  it('two processes recording bounces of one member at once lose none', async () => {
    const { a, place, end } = await open();
    try {
      const n = 25;
      const runs = await Promise.all(
        ['p', 'q'].map((prefix) =>
          runCommand(
            process.execPath,
            [
              '--import',
              'tsx',
              CHILD,
              backend,
              place,
              'red',
              'alice@example.com',
              String(n),
              prefix,
            ],
            { timeoutMs: 120_000 },
          ),
        ),
      );
      for (const run of runs) expect(run.stdout, run.stderr).toBe(`done ${n}\n`);
      // And two storages of this process racing as well (on PostgreSQL: two pools).
      const record = (await a.records('red').get('alice@example.com'))!;
      expect(record.count).toBe(2 * n);
      expect(record.score).toBe(2 * n);
    } finally {
      await end();
    }
  }, 180_000);

  it('two storages of one process changing one record at once lose no change', async () => {
    const { a, b, end } = await open();
    try {
      const store = members();
      const options = { threshold: 1e9, daily_cap: 1e9 };
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          recordBounce(hard(`c${i}`), store, (i % 2 ? a : b).records('red'), options, T0),
        ),
      );
      expect((await a.records('red').get('alice@example.com'))?.count).toBe(20);
    } finally {
      await end();
    }
  }, 120_000);

  it('the sent index written by one host proves a delivery to the other, and counts the day', async () => {
    const { a, b, end } = await open();
    try {
      await a.sent.record(
        'red',
        '<Post-1@Example.org>',
        ['Alice@example.com', 'bob@example.net'],
        T0,
      );
      await a.sent.record('red', '<post-2@example.org>', ['carol@example.org'], T0 + DAY);
      expect(await b.sent.has('red', ['post-1@example.org'], 'alice@EXAMPLE.com', T0 + DAY)).toBe(
        true,
      );
      expect(await b.sent.has('red', ['<post-1@example.org>'], 'carol@example.org', T0)).toBe(
        false,
      );
      expect(await b.sent.has('blue', ['<post-1@example.org>'], 'alice@example.com', T0)).toBe(
        false,
      );
      // Older than the index keeps: no proof.
      expect(
        await b.sent.has('red', ['<post-1@example.org>'], 'alice@example.com', T0 + 20 * DAY),
      ).toBe(false);
      expect(await b.sent.deliveredOn('red', T0)).toBe(2);
      expect(await b.sent.deliveredOn('red', T0 + DAY)).toBe(1);

      // What a migration copies: the entries, restored once however often asked.
      const { a: other, end: endOther } = await open();
      try {
        const entries = await b.sent.entries('red');
        expect(entries.map((e) => [e.day, e.members.length])).toEqual([
          ['2026-11-02', 2],
          ['2026-11-03', 1],
        ]);
        expect(await other.sent.restore('red', entries)).toBe(2);
        expect(await other.sent.restore('red', entries)).toBe(0);
        expect(await other.sent.has('red', ['<post-1@example.org>'], 'bob@example.net', T0)).toBe(
          true,
        );
        expect(await other.sent.entries('red')).toEqual(entries);
      } finally {
        await endOther();
      }
    } finally {
      await end();
    }
  });

  it('a complaint counts once whichever host receives it; the rate is over the day’s deliveries', async () => {
    const { a, b, end } = await open();
    try {
      await a.sent.record('red', '<p@x>', ['alice@example.com', 'bob@example.net'], T0);
      const c = { id: 'ev-1', address: 'Alice@example.com', service: 'ses', type: 'abuse' };
      const both = await Promise.all([
        a.complaints('red').add(c, T0),
        b.complaints('red').add(c, T0),
      ]);
      expect(both.sort()).toEqual([false, true]);
      expect(await b.complaints('red').add({ ...c, id: 'ev-2' }, T0 + 1)).toBe(true);
      const record = await a.complaints('red').read();
      expect(record.days).toEqual({ '2026-11-02': 2 });
      expect(record.seen).toEqual(['ev-1', 'ev-2']);
      expect(record.recent).toEqual([
        { at: T0, address: 'alice@example.com', service: 'ses', type: 'abuse' },
        { at: T0 + 1, address: 'alice@example.com', service: 'ses', type: 'abuse' },
      ]);
      const standing = await complaintStanding(b.complaints('red'), b.sent, 'red', T0);
      expect(standing).toMatchObject({ complaints: 2, delivered: 2, rate: 1 });
      expect((await a.complaints('blue').read()).seen).toEqual([]);

      // A migration's merge adds what the target has not counted, once.
      const { a: other, end: endOther } = await open();
      try {
        await other.complaints('red').add({ ...c, id: 'ev-0' }, T0 - DAY);
        expect(await other.complaints('red').merge(record)).toBe(2);
        expect(await other.complaints('red').merge(record)).toBe(0);
        const merged = await other.complaints('red').read();
        expect(merged.seen).toEqual(['ev-0', 'ev-1', 'ev-2']);
        expect(merged.days).toEqual({ '2026-11-01': 1, '2026-11-02': 2 });
        expect(merged.recent.map((r) => r.at)).toEqual([T0 - DAY, T0, T0 + 1]);
      } finally {
        await endOther();
      }
    } finally {
      await end();
    }
  });
});
