/**
 * `malist storage migrate`'s copy of request memos, notice counts, post counters and digests
 * (src/cli/storage-migrate-misc.ts), between the files and PostgreSQL, both ways: a dry run
 * counts and writes nothing, a run copies and counts the target again, a second run copies
 * nothing, nothing is deleted at the source, and an open digest issue is reported, not copied.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateListState } from '../../src/cli/storage-migrate-misc.ts';
import { fileListState, type ListState } from '../../src/config/storage.ts';
import { PgDigestStore } from '../../src/digest/pg-store.ts';
import { keyOfName } from '../../src/digest/store.ts';
import { openDatabase } from '../../src/state/pg.ts';
import { PgCounters } from '../../src/state/pg-counters.ts';
import { PgMemoStore, PgNoticeCounts } from '../../src/state/pg-memos.ts';
import { type Postgres, postgresAvailable, startPostgres } from '../helpers/postgres.ts';

const available = postgresAvailable();

const memo = (to: string) => ({ replies: [{ to, raw: Buffer.from(`to ${to}`) }], consume: [] });

describe.skipIf(!available)('storage migrate: memos, notice counts, counters, digests', () => {
  let pg: Postgres;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 120_000);
  afterAll(() => pg?.stop());

  it('copies to PostgreSQL and back, counted, never twice, nothing deleted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'malist-migrate-misc-'));
    const db = await openDatabase(await pg.createDatabase('migrate_misc'));
    try {
      const files = fileListState(dir);
      const digest = await PgDigestStore.opener(db);
      const rows: ListState = {
        memos: await PgMemoStore.open(db),
        noticeCounts: await PgNoticeCounts.open(db),
        counters: await PgCounters.open(db),
        digest: async (list) => digest(list),
      };
      await files.memos.put('red', 'k1', memo('ann@example.org'));
      await files.memos.put('red.bounces', '<b/1@x>', memo('bob@example.org'));
      await files.noticeCounts.take('2026-12-05', 'abc', 10);
      await files.noticeCounts.take('2026-12-05', 'abc', 10);
      for (const k of ['p1', 'p2', 'p3']) await files.counters.numberFor('red', k);
      const red = await files.digest('red');
      await red.add('p1', Buffer.from('post one'), 1000);
      await red.add('p2', Buffer.from('post two'), 2000);
      await red.mergeLast({ volume: 3, issue: 7, year: 2026 });

      const dry = await migrateListState(files, rows, ['red', 'blue'], true);
      expect(dry).toEqual([
        { what: 'memos', label: 'request memos', source: 2, present: 0, copied: 0 },
        { what: 'notices', label: 'notice counts', source: 1, present: 0, copied: 0 },
        { what: 'counters', label: 'post counters', source: 1, present: 0, copied: 0 },
        {
          what: 'digest:red',
          label: 'digest of red (posts and last issue)',
          source: 3,
          present: 0,
          copied: 0,
        },
      ]);
      expect(pg.psql('SELECT count(*) FROM malist_request_memos', 'migrate_misc')).toBe('0\n');

      const moved = await migrateListState(files, rows, ['red', 'blue'], false);
      expect(moved.map((l) => [l.what, l.source, l.copied, l.target])).toEqual([
        ['memos', 2, 2, 2],
        ['notices', 1, 1, 1],
        ['counters', 1, 1, 1],
        ['digest:red', 3, 3, 3],
      ]);
      expect((await rows.memos.get('red.bounces', '<b/1@x>'))?.replies[0]?.raw.toString()).toBe(
        'to bob@example.org',
      );
      expect(await rows.counters.numberFor('red', 'p2')).toBe(2);
      expect(await rows.counters.numberFor('red', 'p4')).toBe(4);
      expect(await rows.noticeCounts.take('2026-12-05', 'abc', 3)).toBe(true);
      expect(await rows.noticeCounts.take('2026-12-05', 'abc', 3)).toBe(false);
      const onRows = await rows.digest('red');
      const issue = await onRows.claim(new Date(Date.UTC(2026, 11, 5)));
      expect(issue?.number).toEqual({ volume: 3, issue: 8, year: 2026 });
      expect((await onRows.postBytes(issue!)).map(String)).toEqual(['post one', 'post two']);
      await onRows.release?.(issue!);

      // Again: everything is there (the counter moved on, which is more, not less).
      const again = await migrateListState(files, rows, ['red'], false);
      expect(again.map((l) => [l.what, l.present, l.copied])).toEqual([
        ['memos', 2, 0],
        ['notices', 1, 0],
        ['counters', 1, 0],
        // the posts are in an issue being sent on the rows now: there all the same
        ['digest:red', 3, 0],
      ]);
      // The source is as it was.
      expect(await files.memos.get('red', 'k1')).toEqual(memo('ann@example.org'));
      expect((await red.pending()).map((p) => keyOfName(p.name))).toEqual(['p1', 'p2']);

      // And back: the open issue on the rows is reported and not copied.
      const back = await migrateListState(rows, fileListState(`${dir}-back`), ['red'], false);
      expect(back.map((l) => [l.what, l.source, l.copied, l.target])).toEqual([
        ['memos', 2, 2, 2],
        ['notices', 1, 1, 1],
        ['counters', 1, 1, 1],
        ['digest:red', 3, 1, 1],
      ]);
      expect(back[3]?.label).toMatch(/an issue is being sent: run `malist digest --list red`/);
      const filesBack = fileListState(`${dir}-back`);
      expect(await filesBack.counters.numberFor('red', 'p5')).toBe(5);
      expect(await (await filesBack.digest('red')).last()).toEqual({
        volume: 3,
        issue: 7,
        year: 2026,
      });
    } finally {
      await db.close();
    }
  }, 120_000);
});
