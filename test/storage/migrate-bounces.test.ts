/**
 * `malist storage migrate` moves bounce state both ways through the real command line: each
 * list's bounce records, sent index and spam complaints, counted before and after; a dry
 * run writes nothing, a second run copies nothing, and what the target has is kept.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComplaintState } from '../../src/bounces/complaints.ts';
import { pgBounceStorage } from '../../src/bounces/pg-store.ts';
import { SentIndex } from '../../src/bounces/sent-index.ts';
import { BounceState } from '../../src/bounces/state.ts';
import { openDatabase } from '../../src/state/pg.ts';
import { malist } from '../cli/run-malist.ts';
import { type Postgres, postgresAvailable, startPostgres } from '../helpers/postgres.ts';

const available = postgresAvailable();
const T0 = Date.parse('2026-11-02T12:00:00Z');

const record = (count: number, score: number) => ({
  score,
  updated: Date.now(), // no decay yet where the CLI reads it
  day: '2026-11-02',
  day_added: score,
  count,
  seen: Array.from({ length: count }, (_, i) => `k${i}`),
  last_diagnostic: '550 5.1.1 no such user',
  last_bounce: T0,
});

describe.skipIf(!available)('malist storage migrate: bounce state', () => {
  let pg: Postgres;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 120_000);
  afterAll(() => pg?.stop());

  it('copies bounce records, the sent index and complaints to PostgreSQL and back, checked by counts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'malist-migrate-b-'));
    const url = await pg.createDatabase('migrate_bounces');
    const env = { DATABASE_URL: url };
    await mkdir(join(dir, 'lists'));
    await writeFile(
      join(dir, 'malist.yaml'),
      'state_dir: state\nstorage: { type: postgres, url_env: DATABASE_URL }\nfetch: []\ndistribute: { type: maildir, dir: out }\n',
    );
    await writeFile(
      join(dir, 'lists/red.yaml'),
      'address: red@list.example.com\nmembers:\n  - ann@example.org\n  - bob@example.net\n',
    );
    const state = join(dir, 'state');
    const records = new BounceState(state, 'red');
    await records.change('ann@example.org', () => record(2, 1.5));
    await records.change('bob@example.net', () => record(1, 1));
    const sent = new SentIndex(state);
    await sent.record('red', '<p1@x>', ['ann@example.org', 'bob@example.net'], T0);
    await sent.record('red', '<p2@x>', ['ann@example.org'], T0);
    const complaints = new ComplaintState(state, 'red');
    await complaints.add({ id: 'ev-1', address: 'bob@example.net', service: 'ses' }, T0);
    const storage = (args: string[]) => malist(['storage', ...args, '--config', dir], { env });

    const dry = await storage(['migrate', '--to', 'postgres', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('bounce records of red: 2 to move to postgres');
    expect(dry.stdout).toContain('sent-index entries of red: 2 to move to postgres');
    expect(dry.stdout).toContain('spam complaints of red: 1 to move to postgres');
    // The tables are made on first use (a fresh database); the dry run writes no row.
    expect(
      pg.psql(
        'SELECT (SELECT count(*) FROM malist_bounces) + (SELECT count(*) FROM malist_sent) + (SELECT count(*) FROM malist_complaints)',
        'migrate_bounces',
      ),
    ).toBe('0\n');

    const moved = await storage(['migrate', '--to', 'postgres']);
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stdout).toMatch(
      /bounce records of red: 2 at the source, 2 copied to postgres .*holds 2 of them \(checked\)/,
    );
    expect(moved.stdout).toMatch(/sent-index entries of red: 2 at the source, 2 copied/);
    expect(moved.stdout).toMatch(/spam complaints of red: 1 at the source, 1 copied/);
    const listed = await malist(['members', 'list', 'red', '--json', '--config', dir], { env });
    expect(JSON.parse(listed.stdout)[0].bounces).toMatchObject({ score: 1.5, count: 2 });

    const again = await storage(['migrate', '--to', 'postgres', '--json']);
    expect(JSON.parse(again.stdout).parts.slice(1)).toEqual([
      { what: 'bounces:red', source: 2, present: 2, copied: 0, target: 2 },
      { what: 'sent:red', source: 2, present: 2, copied: 0, target: 2 },
      { what: 'complaints:red', source: 1, present: 1, copied: 0, target: 1 },
    ]);

    // On PostgreSQL a third member bounces and ann's record changes; the files are lost.
    const db = await openDatabase(url);
    const rows = await pgBounceStorage(db);
    await rows.records('red').change('carol@example.org', () => record(1, 1));
    await rows.records('red').change('ann@example.org', () => record(5, 3));
    await db.close();
    await rm(join(state, 'bounces'), { recursive: true });
    await records.change('ann@example.org', () => record(9, 4));
    const back = await storage(['migrate', '--to', 'files']);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toMatch(
      /bounce records of red: 3 at the source, 2 copied to files, 1 already there; files holds 3 of them \(checked\)/,
    );
    expect(back.stdout).toMatch(/sent-index entries of red: 2 at the source, 2 copied to files/);
    // What the files had is kept: ann's record there is not overwritten.
    expect((await records.get('ann@example.org'))?.count).toBe(9);
    expect((await records.get('carol@example.org'))?.count).toBe(1);
    expect(await sent.has('red', ['<p1@x>'], 'bob@example.net', T0)).toBe(true);
  }, 180_000);
});
