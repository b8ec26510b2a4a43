/**
 * `malist watch` on two hosts against one PostgreSQL database and one IMAP mailbox (each host
 * its own configuration and state directory; the database and the mailbox the only things
 * shared): both IDLE on the mailbox, both wake for each new post, both download it, and the
 * journal's claim in the database makes one of them distribute it — the other finds it
 * handled and only removes it (the two racing to expunge the same message is no error).
 * Then one watcher is SIGKILLed while it holds the journal's claim on a post, posts still
 * arriving: the other takes the claim over and handles that post and every one after;
 * SIGTERM stops the last one with status 0.
 * Counted where the mail lands: a `pipe` distributor appending a line per post.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/state/pg.ts';
import { MALIST } from '../cli/run-malist.ts';
import { type Dovecot, dovecotAvailable, startDovecot } from '../helpers/dovecot.ts';
import {
  hostConfigs,
  numberedPost,
  openListRoot,
  PIPE_MEMBERS,
  pipeArgs,
  pipeCopies,
} from '../helpers/pipe-posts.ts';
import { type Postgres, postgresAvailable, startPostgres } from '../helpers/postgres.ts';
import { until } from '../helpers/until.ts';

const available = postgresAvailable() && dovecotAvailable();
const MEMBERS = PIPE_MEMBERS;
const USER = 'lists';
/** Posts handled while both watch; posts after the SIGKILL of one. */
const BOTH = 8;
const AFTER_KILL = 4;

interface Watcher {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

describe.skipIf(!available)('malist watch on two hosts sharing one PostgreSQL database', () => {
  let pg: Postgres;
  let dovecot: Dovecot;
  const watchers: Watcher[] = [];
  beforeAll(async () => {
    [pg, dovecot] = await Promise.all([startPostgres(), startDovecot({ users: [USER] })]);
  }, 120_000);
  afterAll(async () => {
    for (const w of watchers) if (w.child.exitCode === null) w.child.kill('SIGKILL');
    await Promise.all(watchers.map((w) => w.exited));
    await dovecot?.stop();
    await pg?.stop();
  });

  /** `malist watch` on host `dir`, its stdout and stderr in one string. */
  const startWatch = (dir: string, url: string): Watcher => {
    const child = spawn(process.execPath, [MALIST, 'watch', '--config', dir, '--heartbeat', '5'], {
      env: {
        ...process.env,
        DATABASE_URL: url,
        MALIST_TEST_IMAP_PASSWORD: dovecot.password(USER),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    );
    const watcher = { child, output: () => output, exited };
    watchers.push(watcher);
    return watcher;
  };

  it('each post is distributed once; a watcher SIGKILLed mid-stream leaves the rest to the other', async () => {
    const url = await pg.createDatabase('watch_hosts');
    const root = await openListRoot('malist-watch-hosts-');
    const hosts = await hostConfigs(root, ['a', 'b'], 'postgres', () => [
      // One mail at a time: at most one post is in a watcher's hands when it is killed.
      'concurrency: 1',
      'fetch:',
      '  - type: imap',
      '    host: 127.0.0.1',
      `    port: ${dovecot.ports.imaps}`,
      '    tls: implicit',
      `    ca_file: ${dovecot.caFile}`,
      `    user: ${dovecot.address(USER)}`,
      '    password_env: MALIST_TEST_IMAP_PASSWORD',
      'distribute:',
      '  type: pipe',
      '  command: sh',
      pipeArgs(root),
    ]);
    const [a, b] = hosts.map((dir) => startWatch(dir, url)) as [Watcher, Watcher];
    await until('both watchers in IDLE', () =>
      [a, b].every((w) => /watching INBOX/.test(w.output())),
    );
    const landed = async (posts: number) => {
      const counts = await pipeCopies(root);
      let n = 0;
      for (let i = 0; i < posts; i++)
        if (MEMBERS.every((m) => (counts.get(`${m} watch-${i}@example.net`) ?? 0) > 0)) n++;
      return n;
    };
    const mailboxEmpty = async () => (await dovecot.messages(USER)).length === 0;

    // Both watching: every post wakes both; each is distributed by one of them.
    for (let i = 0; i < BOTH; i++) await dovecot.deliver(USER, numberedPost(i, 'watch'));
    const outputs = () => `\n--- A ---\n${a.output()}\n--- B ---\n${b.output()}`;
    await until(`${BOTH} posts distributed`, async () => (await landed(BOTH)) === BOTH).catch(
      (e: Error) => {
        throw new Error(`${e.message}${outputs()}`);
      },
    );
    await until('the mailbox emptied', mailboxEmpty);
    const first = await pipeCopies(root);
    expect([...first.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    expect(first.size).toBe(BOTH * MEMBERS.length);

    // A dies (SIGKILL) while it holds the journal's claim on a post (its holder row names
    // its PID), posts still arriving; B handles them all, and the one A had in hand.
    const db = await openDatabase(url);
    const aHoldsAClaim = async () =>
      (
        await db.query(
          `SELECT 1 FROM malist_journal_claims c JOIN malist_holders h ON h.id = c.holder
            WHERE h.pid = $1`,
          [a.child.pid],
        )
      ).length > 0;
    let next = BOTH;
    let killedAt: number | undefined;
    try {
      while (killedAt === undefined) {
        // A gets about every other post; forty without one is a broken test, not bad luck.
        if (next >= BOTH + 40) throw new Error(`A held no claim in 40 posts${outputs()}`);
        const i = next++;
        await dovecot.deliver(USER, numberedPost(i, 'watch'));
        await until(`post ${i} handled or A holding its claim`, async () => {
          if (await aHoldsAClaim()) {
            a.child.kill('SIGKILL');
            killedAt = i;
            return true;
          }
          return (await pipeCopies(root)).has(`${MEMBERS[1]} watch-${i}@example.net`);
        });
      }
    } finally {
      await db.close();
    }
    for (let i = 0; i < AFTER_KILL; i++) await dovecot.deliver(USER, numberedPost(next++, 'watch'));
    const total = next;
    expect((await a.exited).signal).toBe('SIGKILL');
    await until(`all ${total} posts distributed`, async () => (await landed(total)) === total);
    await until('the mailbox emptied after the kill', mailboxEmpty);
    const counts = await pipeCopies(root);
    const twice = [...new Set([...counts].filter(([, n]) => n > 1).map(([k]) => k.split(' ')[1]))];
    process.stdout.write(
      `watch on two hosts: ${total} posts, ${counts.size} copies, ${twice.length} post(s) twice (A killed holding the claim on post ${killedAt})\n`,
    );
    expect(counts.size).toBe(total * MEMBERS.length);
    // Only the one post A could have had between its distribution and its journal record.
    expect(twice.filter((id) => id !== `watch-${killedAt}@example.net`)).toEqual([]);
    expect(
      pg.psql("SELECT count(*) FROM malist_journal WHERE scope = '_mail'", 'watch_hosts'),
    ).toBe(`${total}\n`);
    // B never failed on a message A removed first (or the other way round).
    expect(b.output()).not.toMatch(/failed|error|will retry/i);

    b.child.kill('SIGTERM');
    const end = await b.exited;
    expect(end.code, b.output()).toBe(0);
  }, 300_000);
});
