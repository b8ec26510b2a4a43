/**
 * `member_store: postgres`: the member store contract against a real PostgreSQL, what only
 * this store promises (a revision that moves with each change, one membership for every
 * process), and `malist members` through the real command line on a list whose members
 * live in the database.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import createPostgresMemberStore from '../../src/members/pg-store.ts';
import { type Database, openDatabase } from '../../src/state/pg.ts';
import { malist } from '../cli/run-malist.ts';
import { type Postgres, postgresAvailable, startPostgres } from '../helpers/postgres.ts';
import { testMemberStore } from '../members/contract.ts';

const available = postgresAvailable();

describe.skipIf(!available)('PostgreSQL member store', () => {
  let pg: Postgres;
  let url: string;
  let db: Database;
  let lists = 0;
  beforeAll(async () => {
    pg = await startPostgres();
    url = await pg.createDatabase('members');
    db = await openDatabase(url);
  }, 120_000);
  afterAll(async () => {
    await db?.close();
    pg?.stop();
  });

  // Each test its own list in the one database: lists never see each other's members.
  testMemberStore('postgres', async () =>
    createPostgresMemberStore({ list: `list${++lists}`, database: async () => db }),
  );

  it('keeps names; the revision moves with each change and only then; two processes share it', async () => {
    const a = createPostgresMemberStore({ list: 'shared', database: async () => db });
    const other = await openDatabase(url);
    try {
      const b = createPostgresMemberStore({ list: 'shared', database: async () => other });
      const r0 = await a.revision!();
      await a.add({ address: 'Ann@Example.org', name: 'Ann Example', digest: true });
      const r1 = await b.revision!();
      expect(r1).not.toBe(r0);
      expect(await b.get('ann@example.org')).toEqual({
        address: 'Ann@Example.org',
        name: 'Ann Example',
        digest: true,
      });
      expect(await b.add({ address: 'ann@example.org' })).toBe('exists');
      expect(await b.update('ann@example.org', { digest: true })).toMatchObject({ digest: true });
      expect(await a.revision!()).toBe(r1); // nothing changed
      expect(await b.remove('ANN@example.org')).toBe(true);
      expect(await a.revision!()).not.toBe(r1);
      expect(await a.list()).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it('malist members works on a list whose members are in the database', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'malist-pgmembers-'));
    await mkdir(join(dir, 'lists'));
    const dbUrl = await pg.createDatabase('members_cli');
    await writeFile(
      join(dir, 'malist.yaml'),
      'state_dir: state\nstorage: { type: postgres, url_env: DATABASE_URL }\nfetch: []\ndistribute: { type: maildir, dir: out }\n',
    );
    const listFile =
      '# Red list\naddress: red@list.example.com\nposting: members\nmember_store: postgres\n';
    await writeFile(join(dir, 'lists/red.yaml'), listFile);
    const env = { DATABASE_URL: dbUrl };
    const run = (args: string[], input?: string) =>
      malist(['members', ...args, '--config', dir], { env, ...(input ? { input } : {}) });

    const added = await run(['add', 'red', 'ann@example.org', 'Bob Martin <bob@example.net>']);
    expect(added.stderr).toBe('');
    expect(added.stdout).toBe('added: ann@example.org\nadded: Bob Martin <bob@example.net>\n');
    expect(added.code).toBe(0);
    expect((await run(['add', 'red', 'ANN@example.org'])).stdout).toBe(
      'already a member: ANN@example.org\n',
    );
    expect((await run(['set', 'red', 'bob@example.net', 'digest'])).code).toBe(0);
    const listed = await run(['list', 'red', '--json']);
    expect(JSON.parse(listed.stdout)).toEqual([
      { address: 'ann@example.org' },
      { address: 'bob@example.net', name: 'Bob Martin', digest: true },
    ]);
    expect((await run(['remove', 'red', 'ann@example.org'])).code).toBe(0);
    expect((await run(['list', 'red'])).stdout).toBe('Bob Martin <bob@example.net>\tdigest\n');
    // The rows are the truth: the list file is untouched, the database holds the member.
    const { readFile } = await import('node:fs/promises');
    expect(await readFile(join(dir, 'lists/red.yaml'), 'utf8')).toBe(listFile);
    expect(pg.psql("SELECT member->>'address' FROM malist_members", 'members_cli')).toBe(
      'bob@example.net\n',
    );

    // On storage: files, member_store: postgres is a configuration error naming the fix.
    await writeFile(
      join(dir, 'malist.yaml'),
      'state_dir: state\nfetch: []\ndistribute: { type: maildir, dir: out }\n',
    );
    const bad = await run(['list', 'red']);
    expect(bad.code).toBe(78);
    expect(bad.stderr).toContain(
      'red.yaml:4:15 member_store: postgres needs a database, and malist.yaml has storage: files',
    );
  }, 120_000);
});
