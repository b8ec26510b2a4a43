/**
 * `malist storage migrate` moves the queue's open entries too, both ways, through the real
 * CLI: a post with a greylisted recipient waits in the spool on `storage: files`; migrated
 * to PostgreSQL (dry run first, counted after) it keeps every recipient's state, so the next
 * `malist queue run` there sends to the greylisted one only. Then the other way: an entry
 * waiting in PostgreSQL migrated to the spool is finished by `queue run` on files. Counted
 * at the SMTP server: nobody gets a post twice.
 *
 * Done records and dead letters move too: on files a post is refused for carol (a dead
 * letter) and deferred once for alice, then delivered to her; migrated to PostgreSQL (dry
 * run first, a second run copying nothing) `malist trace` and `malist queue list --json`
 * tell the same story, and back to files (a fresh spool) they still do.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { malist, post, tempConfig } from '../cli/run-malist.ts';
import { pgAndSmtp } from '../helpers/pg-queue-worker.ts';
import { postgresAvailable } from '../helpers/postgres.ts';

const available = postgresAvailable();
const MEMBERS = ['alice@example.org', 'carol@example.org', 'archive@list.example.com'];
const FIRST = '20261123091244.4711@mail.example.org';
const SECOND = 'CAB7x9e1q-reply-0001@mail.example.net';
/** The first post again under a Message-ID of its own (the server counts by it). */
const THIRD = 'migrate-finished-0001@mail.example.org';

/** malist.yaml on files and on PostgreSQL: a maildir in, a queue with a spool out. */
function configs(port: number): [string, string] {
  const yaml = (storage: string) =>
    `state_dir: state\n${storage}` +
    'fetch:\n  - type: maildir\n    dir: inbox\ndistribute:\n  type: queue\n  server: out\n' +
    `servers:\n  out:\n    host: 127.0.0.1\n    port: ${port}\n    tls: none\n` +
    'queue:\n  dir: spool\n  retry: { initial_seconds: 0.001 }\n';
  return [yaml(''), yaml('storage:\n  type: postgres\n  url_env: DATABASE_URL\n')];
}

/** An entry of `malist queue list --json`. */
interface Listed {
  id: string;
  list?: string;
  message_id?: string;
  state: string;
  recipients: Array<{ address: string; state: string; reply?: string }>;
}

describe.skipIf(!available)('malist storage migrate: the queue', () => {
  const servers = pgAndSmtp();

  it('copies waiting entries with each recipient state, both ways; nobody is sent twice', async () => {
    const url = await servers.pg.createDatabase('migrate_queue');
    const env = { DATABASE_URL: url };
    const [onFiles, onPostgres] = configs(servers.server.port);
    const dir = await tempConfig(onFiles);
    const use = (text: string) => writeFile(join(dir, 'malist.yaml'), text);
    const cli = (args: string[]) => malist([...args, '--config', dir], { env });
    await mkdir(join(dir, 'inbox/new'), { recursive: true });
    const count = (id: string) => MEMBERS.map((m) => servers.server.count(m, id));

    // On files: carol is greylisted, her copy waits in the spool.
    servers.server.addRule({
      stage: 'rcpt',
      recipient: 'carol@example.org',
      reply: { code: 451, message: 'greylisted' },
      times: 1,
    });
    await writeFile(join(dir, 'inbox/new/1.post'), await readFile(post('01-member-post.eml')));
    expect((await cli(['run'])).code).toBe(0);
    expect(count(FIRST)).toEqual([1, 0, 1]);

    // To PostgreSQL: a dry run counts and writes nothing, then the copy, checked.
    await use(onPostgres);
    expect((await cli(['storage', 'upgrade'])).code).toBe(0);
    const dry = await cli(['storage', 'migrate', '--to', 'postgres', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/open queue entries of queue: 1 to move to postgres .*1 to copy/);
    expect(servers.pg.psql('SELECT count(*) FROM queue_entries', 'migrate_queue')).toBe('0\n');
    const moved = await cli(['storage', 'migrate', '--to', 'postgres']);
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stdout).toMatch(
      /open queue entries of queue: 1 at the source, 1 copied .*\(checked\)/,
    );
    expect(
      servers.pg
        .psql("SELECT string_agg(state, ',' ORDER BY n) FROM queue_recipients", 'migrate_queue')
        .trim(),
    ).toMatch(/^(delivered,)*pending(,delivered)*$/);
    const again = await cli(['storage', 'migrate', '--to', 'postgres']);
    expect(again.stdout).toMatch(
      /open queue entries of queue: 1 at the source, 0 copied .*1 already there/,
    );

    // On PostgreSQL the next queue run sends to carol only.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await cli(['queue', 'run'])).code).toBe(0);
    expect(count(FIRST)).toEqual([1, 1, 1]);

    // A second post waits in PostgreSQL (carol greylisted again); back to files with it.
    servers.server.addRule({
      stage: 'rcpt',
      recipient: 'carol@example.org',
      reply: { code: 451, message: 'greylisted' },
      times: 1,
    });
    await writeFile(join(dir, 'inbox/new/2.post'), await readFile(post('02-reply.eml')));
    expect((await cli(['run'])).code).toBe(0);
    expect(count(SECOND)).toEqual([1, 0, 1]);
    const back = await cli(['storage', 'migrate', '--to', 'files']);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toMatch(
      /open queue entries of queue: 1 at the source, 1 copied to files.*\(checked\)/,
    );
    await use(onFiles);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const run = await cli(['queue', 'run']);
    expect(run.code, run.stderr).toBe(0);
    expect(count(SECOND)).toEqual([1, 1, 1]);
    expect(count(FIRST)).toEqual([1, 1, 1]);
    expect(servers.server.duplicates()).toEqual([]);
  }, 240_000);

  it('trace and queue list answer the same before and after, both ways', async () => {
    const env = { DATABASE_URL: await servers.pg.createDatabase('migrate_finished') };
    const [onFiles, onPostgres] = configs(servers.server.port);
    const dir = await tempConfig(onFiles);
    const use = (text: string) => writeFile(join(dir, 'malist.yaml'), text);
    const cli = (args: string[]) => malist([...args, '--config', dir], { env });
    await mkdir(join(dir, 'inbox/new'), { recursive: true });

    servers.server.clearRules();
    // carol's server refuses the post; alice's defers it once, then takes it.
    servers.server.addRule({
      stage: 'rcpt',
      recipient: 'carol@example.org',
      reply: { code: 550, message: 'no such user' },
    });
    servers.server.addRule({
      stage: 'rcpt',
      recipient: 'alice@example.org',
      reply: { code: 451, message: 'greylisted' },
      times: 1,
    });
    const bytes = (await readFile(post('01-member-post.eml'), 'latin1')).replace(FIRST, THIRD);
    await writeFile(join(dir, 'inbox/new/1.post'), bytes, 'latin1');
    expect((await cli(['run'])).code).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await cli(['queue', 'run'])).code).toBe(0);
    expect(servers.server.count('alice@example.org', THIRD)).toBe(1);

    // What the operator sees: the dead letter, and each member's answers.
    const dead = async () => {
      const ran = await cli(['queue', 'list', '--json']);
      expect(ran.code, ran.stderr).toBe(0);
      return (JSON.parse(ran.stdout) as { entries: Listed[] }).entries
        .filter((e) => e.state === 'dead')
        .map((e) => ({
          id: e.id,
          list: e.list,
          message_id: e.message_id,
          failed: e.recipients
            .filter((r) => r.state === 'failed')
            .map(({ address, reply }) => ({ address, reply })),
        }));
    };
    const trace = async (member: string) => {
      const ran = await cli([
        'trace',
        '--list',
        'red',
        '--member',
        member,
        '--message-id',
        THIRD,
        '--json',
      ]);
      expect(ran.code === 0 || ran.code === 1, ran.stderr).toBe(true);
      // The dead letter's place names the storage; everything else must match.
      return ran.stdout.replace(/"dead_letter": "[^"]*"/g, '"dead_letter": "…"');
    };
    const story = async () => ({
      dead: await dead(),
      carol: await trace('carol@example.org'),
      alice: await trace('alice@example.org'),
    });
    const onFilesBefore = await story();
    expect(onFilesBefore.dead).toHaveLength(1);
    expect(onFilesBefore.dead[0]?.failed).toEqual([
      { address: 'carol@example.org', reply: expect.stringContaining('no such user') },
    ]);
    expect(onFilesBefore.alice).toContain('greylisted');

    // To PostgreSQL: a dry run writes nothing; the copy is counted; again copies nothing.
    await use(onPostgres);
    expect((await cli(['storage', 'upgrade'])).code).toBe(0);
    const dry = await cli(['storage', 'migrate', '--to', 'postgres', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/done records of queue: 1 to move to postgres .*1 to copy/);
    expect(dry.stdout).toMatch(/dead letters of queue: 1 to move to postgres .*1 to copy/);
    expect(servers.pg.psql('SELECT count(*) FROM queue_entries', 'migrate_finished')).toBe('0\n');
    const moved = await cli(['storage', 'migrate', '--to', 'postgres']);
    expect(moved.code, moved.stderr).toBe(0);
    // The whole-mail journal records keep their scope (trace reads the post's from it).
    expect(servers.pg.psql('SELECT DISTINCT scope FROM malist_journal', 'migrate_finished')).toBe(
      '_mail\n',
    );
    expect(moved.stdout).toMatch(/done records of queue: 1 at the source, 1 copied .*\(checked\)/);
    expect(moved.stdout).toMatch(/dead letters of queue: 1 at the source, 1 copied .*\(checked\)/);
    const again = await cli(['storage', 'migrate', '--to', 'postgres']);
    expect(again.stdout).toMatch(
      /done records of queue: 1 at the source, 0 copied .*1 already there/,
    );
    expect(again.stdout).toMatch(
      /dead letters of queue: 1 at the source, 0 copied .*1 already there/,
    );
    expect(await story()).toEqual(onFilesBefore);
    // Finished: a queue run on PostgreSQL sends nobody anything.
    const sent = servers.server.accepted.length;
    expect((await cli(['queue', 'run'])).code).toBe(0);
    expect(servers.server.accepted.length).toBe(sent);

    // Back to a fresh spool: the same again.
    await rm(join(dir, 'spool'), { recursive: true, force: true });
    const back = await cli(['storage', 'migrate', '--to', 'files']);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toMatch(
      /done records of queue: 1 at the source, 1 copied to files.*\(checked\)/,
    );
    expect(back.stdout).toMatch(
      /dead letters of queue: 1 at the source, 1 copied to files.*\(checked\)/,
    );
    await use(onFiles);
    expect(await story()).toEqual(onFilesBefore);
    expect((await cli(['queue', 'run'])).code).toBe(0);
    expect(servers.server.accepted.length).toBe(sent);
    expect(servers.server.duplicates()).toEqual([]);
  }, 240_000);
});
