/**
 * `storage: {type: postgres}` puts bounce state in the database, through the real CLI on two
 * "hosts" (two configurations, each with its own state_dir, one database): a post that
 * `malist receive` delivers on host B goes into the shared sent index; a DSN for it mailed
 * to the list's plain bounce address and received on host A is proven by that index and
 * scores the member; host B's `malist members list --json` shows the score, and nothing of
 * bounces is kept in either state_dir.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { malist, post, readmeStorageHosts } from '../cli/run-malist.ts';
import { hardBounce } from '../helpers/dsn.ts';
import { type Postgres, postgresAvailable, startPostgres } from '../helpers/postgres.ts';

const available = postgresAvailable();

describe.skipIf(!available)('bounce state on PostgreSQL through the CLI, on two hosts', () => {
  let pg: Postgres;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 120_000);
  afterAll(() => pg?.stop());

  it('a DSN received on A scores the member in B’s members list', async () => {
    const url = await pg.createDatabase('bounces_cli');
    const env = { DATABASE_URL: url };
    // README's storage example, as it is printed there, on both hosts.
    const [hostA, hostB] = await readmeStorageHosts();

    const posted = await malist(['receive', '--config', hostB, '--list', 'red'], {
      env,
      input: await readFile(post('01-member-post.eml')),
    });
    expect(posted.code, posted.stderr).toBe(0);
    expect(pg.psql("SELECT count(*) > 0 FROM malist_sent WHERE list = 'red'", 'bounces_cli')).toBe(
      't\n',
    );

    const dsn = hardBounce({
      to: 'red-bounces@list.example.com',
      recipient: 'bob@example.net',
      n: 'cli-1',
      returned: '<20261123091244.4711@mail.example.org>',
    });
    const bounced = await malist(
      ['receive', '--config', hostA, '--list', 'red-bounces@list.example.com', '--sender', '<>'],
      { env, input: dsn },
    );
    expect(bounced.code, bounced.stderr).toBe(0);
    expect(bounced.stderr).toMatch(/bounce recorded \(bob@example\.net hard\)/);

    const listed = await malist(['members', 'list', 'red', '--json', '--config', hostB], { env });
    expect(listed.code, listed.stderr).toBe(0);
    const members = JSON.parse(listed.stdout) as Array<{
      address: string;
      bounces?: { score: number; count: number; reason?: string };
    }>;
    const bob = members.find((m) => m.address === 'bob@example.net');
    expect(bob?.bounces).toMatchObject({ score: 1, count: 1 });
    expect(bob?.bounces?.reason).toMatch(/550 5\.1\.1/);
    expect(members.find((m) => m.address === 'alice@example.org')?.bounces).toBeUndefined();

    // The same DSN again, on B: counted once.
    const again = await malist(
      ['receive', '--config', hostB, '--list', 'red-bounces@list.example.com', '--sender', '<>'],
      { env, input: dsn },
    );
    expect(again.code, again.stderr).toBe(0);
    expect(
      pg.psql(
        "SELECT record->>'count' FROM malist_bounces WHERE list = 'red' AND address = 'bob@example.net'",
        'bounces_cli',
      ),
    ).toBe('1\n');

    for (const host of [hostA, hostB]) {
      const state = await readdir(join(host, 'var/state')).catch(() => []);
      expect(state).not.toContain('bounces');
      expect(state).not.toContain('complaints');
    }
  }, 180_000);
});
