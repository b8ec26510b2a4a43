/**
 * `malist storage migrate` moves the queue's open entries too, both ways, through the real
 * CLI: a post with a greylisted recipient waits in the spool on `storage: files`; migrated
 * to PostgreSQL (dry run first, counted after) it keeps every recipient's state, so the next
 * `malist queue run` there sends to the greylisted one only. Then the other way: an entry
 * waiting in PostgreSQL migrated to the spool is finished by `queue run` on files. Counted
 * at the SMTP server: nobody gets a post twice.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { malist, post, tempConfig } from '../cli/run-malist.ts';
import { type Postgres, postgresAvailable, startPostgres } from '../helpers/postgres.ts';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-server.ts';

const available = postgresAvailable();
const MEMBERS = ['alice@example.org', 'carol@example.org', 'archive@list.example.com'];
const FIRST = '20261123091244.4711@mail.example.org';
const SECOND = 'CAB7x9e1q-reply-0001@mail.example.net';

describe.skipIf(!available)('malist storage migrate: the queue', () => {
  let pg: Postgres;
  let server: TestSmtpServer;
  beforeAll(async () => {
    pg = await startPostgres();
    server = await startSmtpServer();
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await pg?.stop();
  });

  it('copies waiting entries with each recipient state, both ways; nobody is sent twice', async () => {
    const url = await pg.createDatabase('migrate_queue');
    const env = { DATABASE_URL: url };
    const yaml = (storage: string) =>
      `state_dir: state\n${storage}` +
      'fetch:\n  - type: maildir\n    dir: inbox\ndistribute:\n  type: queue\n  server: out\n' +
      `servers:\n  out:\n    host: 127.0.0.1\n    port: ${server.port}\n    tls: none\n` +
      'queue:\n  dir: spool\n  retry: { initial_seconds: 0.001 }\n';
    const onFiles = yaml('');
    const onPostgres = yaml('storage:\n  type: postgres\n  url_env: DATABASE_URL\n');
    const dir = await tempConfig(onFiles);
    const use = (text: string) => writeFile(join(dir, 'malist.yaml'), text);
    const cli = (args: string[]) => malist([...args, '--config', dir], { env });
    await mkdir(join(dir, 'inbox/new'), { recursive: true });
    const count = (id: string) => MEMBERS.map((m) => server.count(m, id));

    // On files: carol is greylisted, her copy waits in the spool.
    server.addRule({
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
    expect(pg.psql('SELECT count(*) FROM queue_entries', 'migrate_queue')).toBe('0\n');
    const moved = await cli(['storage', 'migrate', '--to', 'postgres']);
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stdout).toMatch(
      /open queue entries of queue: 1 at the source, 1 copied .*\(checked\)/,
    );
    expect(
      pg
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
    server.addRule({
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
    expect(server.duplicates()).toEqual([]);
  }, 240_000);
});
