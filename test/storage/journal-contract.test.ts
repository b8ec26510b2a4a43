/**
 * The journal's contract, run against both backends: the files (state_dir/journal) and
 * PostgreSQL (a real server the test starts). Records, the newest-first reading `malist
 * trace` and the web do, and the claim that makes one worker handle a post.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileJournal, type Journal, type KeyedJournalEntry } from '../../src/state/journal.ts';
import { currentHolder, formatHolder } from '../../src/state/lock.ts';
import { openDatabase } from '../../src/state/pg.ts';
import { PgJournal } from '../../src/state/pg-journal.ts';
import { type Postgres, postgresAvailable, startPostgres } from '../helpers/postgres.ts';

const available = postgresAvailable();
let pg: Postgres | undefined;
let databases = 0;

interface Backend {
  /** Two journals on one store, as two workers have them. */
  open(): Promise<{ a: Journal; b: Journal; end(): Promise<void> }>;
  /** Leaves a claim on `key` whose holder died (its process, its session). */
  deadClaim(a: Journal, scope: string, key: string): Promise<void>;
}

const files: Backend = {
  async open() {
    const dir = join(await mkdtemp(join(tmpdir(), 'malist-journal-')), 'journal');
    return { a: new FileJournal(dir), b: new FileJournal(dir), end: async () => {} };
  },
  async deadClaim(a, scope, key) {
    // What a SIGKILLed worker leaves: its lock file, naming a process that no longer runs.
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const pid = Number(gone.stdout.toString());
    const path = (a as FileJournal)['path'](scope, key).replace(/\.json$/, '.claim');
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, `${formatHolder({ host: currentHolder().host, pid, start: '1' })}\n`);
  },
};

const postgres: Backend = {
  async open() {
    const url = await pg!.createDatabase(`journal_${++databases}`);
    // Two pools: two workers, each with its own holder session.
    const [dbA, dbB] = await Promise.all([openDatabase(url), openDatabase(url)]);
    const a = await PgJournal.open(dbA);
    const b = await PgJournal.open(dbB);
    return {
      a,
      b,
      async end() {
        await a.close();
        await b.close();
        await dbA.close();
        await dbB.close();
      },
    };
  },
  async deadClaim(a, scope, key) {
    // The claim is taken, then its holder's session ends without releasing it.
    await a.claim(scope, key);
    await (a as PgJournal).close();
  },
};

const backends: [string, Backend][] = [['files', files]];
if (available) backends.push(['postgres', postgres]);

beforeAll(async () => {
  if (available) pg = await startPostgres();
}, 120_000);
afterAll(() => pg?.stop());

async function collect(gen: AsyncGenerator<KeyedJournalEntry>): Promise<KeyedJournalEntry[]> {
  const out: KeyedJournalEntry[] = [];
  for await (const r of gen) out.push(r);
  return out;
}

describe.each(backends)('journal contract: %s', (_name, backend) => {
  it('records, reads back, replaces, and keeps scopes apart', async () => {
    const { a, b, end } = await backend.open();
    try {
      expect(await a.get('_mail', 'k1')).toBeUndefined();
      await a.record('_mail', 'k1', {
        outcome: 'partial',
        done: ['x@example.org'],
        messageId: '<1@example.org>',
        lists: ['red'],
        auth: { dkim: 'pass' } as never,
      });
      // Another worker sees it.
      const got = await b.get('_mail', 'k1');
      expect(got).toMatchObject({
        outcome: 'partial',
        done: ['x@example.org'],
        messageId: '<1@example.org>',
        lists: ['red'],
        auth: { dkim: 'pass' },
      });
      expect(Date.parse(got!.at)).toBeGreaterThan(Date.now() - 600_000);
      await b.record('_mail', 'k1', { outcome: 'distributed', done: ['x@example.org', 'y@x.org'] });
      expect((await a.get('_mail', 'k1'))?.outcome).toBe('distributed');
      expect(await a.get('red', 'k1')).toBeUndefined();
    } finally {
      await end();
    }
  });

  it('reads a scope newest first, down to a time, and stops when the reader does', async () => {
    const { a, end } = await backend.open();
    try {
      for (let i = 0; i < 5; i++) {
        await a.record('red', `key${i}`, { outcome: 'distributed', messageId: `<${i}@x>` });
        await new Promise((r) => setTimeout(r, 60)); // distinct times (files: mtime)
      }
      await a.record('blue', 'other', { outcome: 'held' });
      const all = await collect(a.recent('red'));
      expect(all.map((r) => r.key)).toEqual(['key4', 'key3', 'key2', 'key1', 'key0']);
      expect(all[0]?.entry.messageId).toBe('<4@x>');
      // Files go by the file's time, which the kernel's coarse clock may put a few ms early.
      const since = Date.parse((await a.get('red', 'key3'))!.at) - 25;
      expect((await collect(a.recent('red', since))).map((r) => r.key)).toEqual(['key4', 'key3']);
      const first: string[] = [];
      for await (const r of a.recent('red')) {
        first.push(r.key);
        if (first.length === 2) break;
      }
      expect(first).toEqual(['key4', 'key3']);
      expect(await collect(a.recent('nothing-here'))).toEqual([]);
    } finally {
      await end();
    }
  });

  it('lets one worker at a time hold a key; the other waits, then finds it handled', async () => {
    const { a, b, end } = await backend.open();
    try {
      const held = await a.claim('_mail', 'post');
      let bGot = false;
      const waiting = b.claim('_mail', 'post').then((claim) => {
        bGot = true;
        return claim;
      });
      // Another key is free meanwhile.
      await (await b.claim('_mail', 'another')).release();
      await new Promise((r) => setTimeout(r, 300));
      expect(bGot).toBe(false);
      await a.record('_mail', 'post', { outcome: 'distributed' });
      await held.release();
      const claim = await waiting;
      expect((await b.get('_mail', 'post'))?.outcome).toBe('distributed');
      await claim.release();
      // Gives up past its wait with a temporary error (the mail stays at its source).
      const again = await a.claim('_mail', 'post');
      await expect(b.claim('_mail', 'post', { waitMs: 50 })).rejects.toMatchObject({
        code: 'EBUSY',
        temporary: true,
      });
      await again.release();
    } finally {
      await end();
    }
  });

  it('shares a claim within one process: a nested play never waits for itself', async () => {
    const { a, b, end } = await backend.open();
    try {
      const outer = await a.claim('_mail', 'k');
      const inner = await a.claim('_mail', 'k');
      await inner.release();
      // Still held by the outer claim.
      await expect(b.claim('_mail', 'k', { waitMs: 50 })).rejects.toMatchObject({
        code: 'EBUSY',
      });
      await outer.release();
      await (await b.claim('_mail', 'k', { waitMs: 5_000 })).release();
    } finally {
      await end();
    }
  });

  it('takes over at once a claim whose holder died, never waiting for a clock', async () => {
    const { a, b, end } = await backend.open();
    try {
      await backend.deadClaim(a, '_mail', 'orphan');
      const claim = await b.claim('_mail', 'orphan', { waitMs: 5_000 });
      await claim.release();
    } finally {
      await end();
    }
  });
});
