/**
 * Several `type: queue` distributors on one PostgreSQL database keep apart by their `name:`,
 * and a queue in PostgreSQL needs no spool `dir:` (`malist check` does not ask for one; on
 * `storage: files` it does, naming the fix). Through the real CLI: one post goes out through
 * two queues to two SMTP servers; a recipient greylisted by the second waits in queue `two`
 * only, and `malist queue run` delivers it through that queue's server, never the first's —
 * counted at both servers, checked in the tables with psql.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { malist, post, ROOT, tempConfig } from '../cli/run-malist.ts';
import { type Postgres, postgresAvailable, startPostgres } from '../helpers/postgres.ts';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-server.ts';

const available = postgresAvailable();
const MEMBERS = [
  'alice@example.org',
  'bob@example.net',
  'carol@example.org',
  'archive@list.example.com',
];
const ID = '20261123091244.4711@mail.example.org';

/** README's two-queue `distribute:` block, as it is printed there. */
async function readmeQueues(): Promise<string> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const block = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)]
    .map((m) => m[1] as string)
    .find((b) => b.startsWith('distribute:\n  - { type: queue, name: bulk'));
  if (!block) throw new Error("README's two-queue example is gone");
  return block;
}

const yamlFor = async (storage: string, one: TestSmtpServer, two: TestSmtpServer) =>
  `state_dir: state\n${storage}` +
  'fetch:\n  - type: maildir\n    dir: inbox\n' +
  (await readmeQueues()) +
  `servers:\n  bulk-relay:\n    host: 127.0.0.1\n    port: ${one.port}\n    tls: none\n` +
  `  smarthost:\n    host: 127.0.0.1\n    port: ${two.port}\n    tls: none\n` +
  'queue:\n  retry: { initial_seconds: 0.001 }\n';

describe.skipIf(!available)('several queues in one PostgreSQL database', () => {
  let pg: Postgres;
  let one: TestSmtpServer;
  let two: TestSmtpServer;
  beforeAll(async () => {
    pg = await startPostgres();
    one = await startSmtpServer();
    two = await startSmtpServer();
  }, 120_000);
  afterAll(async () => {
    await one?.stop();
    await two?.stop();
    await pg?.stop();
  });

  it('need no dir:, and each runs, lists and delivers only its own entries', async () => {
    const url = await pg.createDatabase('queues_apart');
    const env = { DATABASE_URL: url };
    const dir = await tempConfig(
      await yamlFor('storage:\n  type: postgres\n  url_env: DATABASE_URL\n', one, two),
    );
    await mkdir(join(dir, 'inbox/new'), { recursive: true });
    await writeFile(join(dir, 'inbox/new/1.post'), await readFile(post('01-member-post.eml')));
    two.addRule({
      stage: 'rcpt',
      recipient: 'bob@example.net',
      reply: { code: 451, message: 'greylisted' },
      times: 1,
    });

    const check = await malist(['check', '--config', dir], { env });
    expect(check.stderr + check.stdout).not.toMatch(/queue\.dir|no dir:|spool/);
    expect(check.code).toBe(0);

    const first = await malist(['run', '--config', dir], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(MEMBERS.map((m) => one.count(m, ID))).toEqual([1, 1, 1, 1]);
    expect(MEMBERS.map((m) => two.count(m, ID))).toEqual([1, 0, 1, 1]);
    // Two entries, one a queue: `bulk` is done, `notices` waits for bob.
    expect(
      pg.psql(
        "SELECT queue || ':' || (done_at IS NULL) FROM queue_entries ORDER BY queue",
        'queues_apart',
      ),
    ).toBe('bulk:false\nnotices:true\n');

    const listed = await malist(['queue', 'list', '--json', '--config', dir], { env });
    expect(listed.code).toBe(0);
    // `queue list` shows each queue's own: the waiting entry once, not under both queues.
    expect(listed.stdout.split('bob@example.net').length - 1).toBe(1);

    await new Promise((resolve) => setTimeout(resolve, 50));
    const run = await malist(['queue', 'run', '--config', dir], { env });
    expect(run.code, run.stderr).toBe(0);
    // Bob got the second queue's copy from the second server, and nothing more from the first.
    expect(MEMBERS.map((m) => one.count(m, ID))).toEqual([1, 1, 1, 1]);
    expect(MEMBERS.map((m) => two.count(m, ID))).toEqual([1, 1, 1, 1]);
    expect(one.duplicates()).toEqual([]);
    expect(two.duplicates()).toEqual([]);
    expect(
      pg.psql('SELECT count(*) FROM queue_entries WHERE done_at IS NULL', 'queues_apart'),
    ).toBe('0\n');
  }, 180_000);

  it('on storage: files, a queue without dir: is a configuration problem naming the fix', async () => {
    const dir = await tempConfig(await yamlFor('', one, two));
    const check = await malist(['check', '--config', dir]);
    expect(check.code).toBe(78);
    expect(check.stderr + check.stdout).toMatch(/no dir: for its spool/);
    expect(check.stderr + check.stdout).toMatch(/storage: \{type: postgres\}/);
  }, 60_000);
});
