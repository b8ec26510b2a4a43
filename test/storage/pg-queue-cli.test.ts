/**
 * `storage: {type: postgres}` puts the queue in the database, through the real CLI: `malist
 * run` delivers and queues a deferred recipient in PostgreSQL (not in the spool), `malist
 * queue list` shows it from there, and the next `malist queue run` delivers to that
 * recipient only — counted at the SMTP server, checked in the tables with psql.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { malist, post, ROOT, tempConfig } from '../cli/run-malist.ts';
import { pgAndSmtp } from '../helpers/pg-queue-worker.ts';
import { postgresAvailable } from '../helpers/postgres.ts';

const available = postgresAvailable();
const MEMBERS = [
  'alice@example.org',
  'bob@example.net',
  'carol@example.org',
  'archive@list.example.com',
];

describe.skipIf(!available)('the queue on PostgreSQL through the CLI', () => {
  const servers = pgAndSmtp();

  it('malist run, queue list and queue run keep the queue in the database', async () => {
    const url = await servers.pg.createDatabase('queue_cli');
    const env = { DATABASE_URL: url };
    // README's storage block, as it is printed there.
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const storage = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)]
      .map((m) => m[1] as string)
      .find((b) => b.startsWith('storage:\n  type: postgres'));
    expect(storage).toBeDefined();
    const yaml =
      `state_dir: state\n${storage}` +
      `fetch:\n  - type: maildir\n    dir: inbox\ndistribute:\n  type: queue\n  server: out\n` +
      `servers:\n  out:\n    host: 127.0.0.1\n    port: ${servers.server.port}\n    starttls: never\n` +
      `queue:\n  dir: spool\n  retry: { initial_seconds: 0.001 }\n`;
    const dir = await tempConfig(yaml);
    await mkdir(join(dir, 'inbox/new'), { recursive: true });
    await writeFile(join(dir, 'inbox/new/1.post'), await readFile(post('01-member-post.eml')));
    servers.server.addRule({
      stage: 'rcpt',
      recipient: 'bob@example.net',
      reply: { code: 451, message: 'greylisted' },
      times: 1,
    });
    const id = '20261123091244.4711@mail.example.org';

    const upgrade = await malist(['storage', 'upgrade', '--config', dir], { env });
    expect(upgrade.code).toBe(0);
    expect(upgrade.stdout).toContain('queue: version 0 → 2');
    const first = await malist(['run', '--config', dir], { env });
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(
      'red (red@list.example.com): 1 post — 3 delivered, 1 queued (451 greylisted)',
    );
    expect(MEMBERS.map((m) => servers.server.count(m, id))).toEqual([1, 0, 1, 1]);
    // In the database, not in a spool.
    expect(await readdir(join(dir, 'spool')).catch(() => [])).toEqual([]);
    expect(
      servers.pg.psql('SELECT count(*) FROM queue_entries WHERE done_at IS NULL', 'queue_cli'),
    ).toBe('1\n');
    expect(servers.pg.psql('SELECT count(*) FROM queue_sent', 'queue_cli')).toBe('3\n');

    const listed = await malist(['queue', 'list', '--json', '--config', dir], { env });
    expect(listed.code).toBe(0);
    const entries = JSON.parse(listed.stdout) as Array<{ envelope?: { recipients: unknown[] } }>;
    expect(JSON.stringify(entries)).toContain('bob@example.net');

    await new Promise((resolve) => setTimeout(resolve, 50));
    const run = await malist(['queue', 'run', '--config', dir], { env });
    expect(run.code).toBe(0);
    expect(MEMBERS.map((m) => servers.server.count(m, id))).toEqual([1, 1, 1, 1]);
    expect(servers.server.duplicates()).toEqual([]);
    expect(
      servers.pg.psql('SELECT count(*) FROM queue_entries WHERE done_at IS NULL', 'queue_cli'),
    ).toBe('0\n');
    expect(
      servers.pg.psql("SELECT count(*) FROM queue_sent WHERE status = 'delivered'", 'queue_cli'),
    ).toBe('4\n');
    // Every worker's lease ended with its process.
    expect(
      servers.pg.psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'", 'queue_cli'),
    ).toBe('0\n');
  }, 120_000);
});
