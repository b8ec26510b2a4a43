/**
 * "A post fetched by one worker is handled once" (issue 22): several `malist` processes
 * that share only the database (each its own config and state directory), racing on the
 * same mail — each with its own copy of one maildir, or the same mail piped to `malist
 * receive` at once, as two MTAs would. Counted where the mail lands: a `pipe` distributor
 * appending a line per post (it keeps no record of its own, as sendmail does not: only the
 * journal stops a repeat).
 * The same workers on `storage: files` (state directories apart) send each post once per
 * worker: the control that shows the count can fail.
 */
import { cp, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { malist } from '../cli/run-malist.ts';
import {
  hostConfigs,
  numberedPost,
  openListRoot,
  PIPE_MEMBERS,
  pipeArgs,
  pipeCopies,
} from '../helpers/pipe-posts.ts';
import { type Postgres, postgresAvailable, startPostgres } from '../helpers/postgres.ts';

const available = postgresAvailable();
const WORKERS = 3;
const POSTS = 30;
const MEMBERS = PIPE_MEMBERS;

const post = (i: number) => numberedPost(i);

/** A site: the lists, the shared out/ maildirs, and a config dir per worker. */
async function site(
  storage: 'postgres' | 'files',
  concurrency = 4,
): Promise<{ root: string; workers: string[] }> {
  const root = await openListRoot('malist-workers-');
  const names = Array.from({ length: WORKERS }, (_, w) => `w${w + 1}`);
  const workers = await hostConfigs(root, names, storage, () => [
    `concurrency: ${concurrency}`,
    'fetch:',
    '  - type: maildir',
    '    dir: inbox',
    'distribute:',
    '  type: pipe',
    '  command: sh',
    // A little time per post, so the workers' posts in hand overlap.
    pipeArgs(root),
  ]);
  for (const dir of workers)
    for (const sub of ['new', 'cur', 'tmp'])
      await mkdir(join(dir, 'inbox', sub), { recursive: true });
  return { root, workers };
}

const copies = pipeCopies;

async function fillInboxes(workers: string[]): Promise<void> {
  const first = workers[0]!;
  for (let i = 0; i < POSTS; i++)
    await writeFile(join(first, 'inbox/new', `${1000 + i}.post${i}:2,`), post(i));
  // The same files (the same bytes) in every worker's copy of the maildir.
  for (const w of workers.slice(1))
    await cp(join(first, 'inbox'), join(w, 'inbox'), { recursive: true });
}

describe.skipIf(!available)('workers sharing one PostgreSQL journal', () => {
  let pg: Postgres;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 120_000);
  afterAll(() => pg?.stop());

  it(`${WORKERS} malist run, each with a copy of one maildir: every post reaches each member once`, async () => {
    const url = await pg.createDatabase('workers_run');
    const { root, workers } = await site('postgres');
    await fillInboxes(workers);
    const runs = await Promise.all(
      workers.map((dir) => malist(['run', '--config', dir], { env: { DATABASE_URL: url } })),
    );
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const counts = await copies(root);
    expect(counts.size).toBe(POSTS * MEMBERS.length);
    expect([...counts.values()].filter((n) => n !== 1)).toEqual([]);
    // Every worker emptied its copy: the posts another handled were acked as handled.
    for (const dir of workers) expect(await readdir(join(dir, 'inbox/new'))).toEqual([]);
    const fetched = runs.map((r) => Number(/fetched (\d+)/.exec(r.stdout)?.[1]));
    expect(fetched).toEqual(workers.map(() => POSTS));
    const skipped = runs.map((r) =>
      Number(/(\d+) already handled, skipped \(the journal in PostgreSQL/.exec(r.stdout)?.[1] ?? 0),
    );
    // Each post was handled by one worker and skipped by the two others.
    expect(skipped.reduce((a, b) => a + b)).toBe(POSTS * (WORKERS - 1));
    expect(
      pg.psql("SELECT count(*) FROM malist_journal WHERE scope = '_mail'", 'workers_run'),
    ).toBe(`${POSTS}\n`);
    expect(pg.psql('SELECT count(*) FROM malist_journal_claims', 'workers_run')).toBe('0\n');
  }, 240_000);

  it('the same mail piped to malist receive by three MTAs at once is distributed once', async () => {
    const url = await pg.createDatabase('workers_receive');
    const { root, workers } = await site('postgres');
    const input = post(99);
    const runs = await Promise.all(
      workers.map((dir) =>
        malist(['receive', '--config', dir, '--list', 'open'], {
          input,
          env: { DATABASE_URL: url },
        }),
      ),
    );
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const counts = await copies(root);
    expect([...counts.entries()].sort()).toEqual(
      MEMBERS.map((m) => [`${m} post-99@example.net`, 1]),
    );
  }, 240_000);

  it('a worker SIGKILLed holding a claim: the next worker takes it over at once, each post once', async () => {
    const url = await pg.createDatabase('workers_kill');
    // One post in hand at a time, so the one killed is known: recorded, not yet acked.
    const { root, workers } = await site('postgres', 1);
    await fillInboxes(workers.slice(0, 2));
    const env = { DATABASE_URL: url };
    const killed = await malist(['run', '--config', workers[0]!], {
      env: { ...env, MALIST_CRASH_AT: 'play.before-ack:3' },
    });
    expect(killed.signal).toBe('SIGKILL');
    // The dead worker's claim on its third post is still there, its holder gone.
    expect(pg.psql('SELECT count(*) FROM malist_journal_claims', 'workers_kill')).toBe('1\n');
    const next = await malist(['run', '--config', workers[1]!], { env });
    // A claim it could not take over would have kept it waiting, then failed.
    expect(next.code, next.stderr).toBe(0);
    expect(next.stdout).toContain('3 already handled, skipped (the journal in PostgreSQL');
    const counts = await copies(root);
    expect(counts.size).toBe(POSTS * MEMBERS.length);
    expect([...counts.values()].filter((n) => n !== 1)).toEqual([]);
    expect(pg.psql('SELECT count(*) FROM malist_journal_claims', 'workers_kill')).toBe('0\n');
  }, 240_000);

  it('control: the same workers on storage: files (state apart) send each post once per worker', async () => {
    const { root, workers } = await site('files');
    await fillInboxes(workers.slice(0, 2));
    const runs = await Promise.all(
      workers.slice(0, 2).map((dir) => malist(['run', '--config', dir])),
    );
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const counts = await copies(root);
    expect(counts.size).toBe(POSTS * MEMBERS.length);
    expect(new Set(counts.values())).toEqual(new Set([2]));
  }, 240_000);
});
