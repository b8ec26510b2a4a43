/**
 * A reload on PostgreSQL: the web after a settings change and `malist lmtp` after an edited
 * list file build a new runtime while the old one is still open, and close the old one later
 * (the web 30 s later, for the requests still using it). Closing the old runtime must not
 * close the pools the new one's stores use: the pools close with the last runtime.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConfig } from '../../src/config/open.ts';
import { buildRuntime } from '../../src/config/runtime.ts';
import { type Postgres, postgresAvailable, startPostgres } from '../helpers/postgres.ts';

const available = postgresAvailable();

describe.skipIf(!available)('a runtime replaced by a reload, on PostgreSQL', () => {
  let pg: Postgres;
  const before = process.env.DATABASE_URL;
  beforeAll(async () => {
    pg = await startPostgres();
    process.env.DATABASE_URL = await pg.createDatabase('runtime_reload');
  }, 120_000);
  afterAll(async () => {
    if (before === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = before;
    await pg?.stop();
  });

  it("closing the old runtime leaves the new one's stores working; the last close ends the pools", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'malist-runtime-reload-'));
    await mkdir(join(dir, 'lists'));
    await writeFile(
      join(dir, 'malist.yaml'),
      'state_dir: state\nstorage: { type: postgres, url_env: DATABASE_URL }\nfetch: []\ndistribute: { type: maildir, dir: out }\n',
    );
    await writeFile(
      join(dir, 'lists/red.yaml'),
      'address: red@list.example.com\nmember_store: postgres\nmembers: []\n',
    );
    const build = async () => {
      const { config, plans } = await openConfig({ dir });
      expect(config.problems).toEqual([]);
      return buildRuntime(config, plans);
    };
    const old = await build();
    await old.memberStore('red')!.add({ address: 'ann@example.org' });
    const next = await build();
    await old.close();
    // The new runtime's stores are on the same pool: still open.
    await next.memberStore('red')!.add({ address: 'bob@example.org' });
    const members = await next.memberStore('red')!.list();
    expect(members.map((m) => m.address).sort()).toEqual(['ann@example.org', 'bob@example.org']);
    expect(await next.moderation.storage!.decisions('red')).toEqual([]);
    await next.close();
    // The last close ended every session this process had on the database.
    const sessions = pg.psql(
      "SELECT count(*) FROM pg_stat_activity WHERE datname = 'runtime_reload' AND pid <> pg_backend_pid()",
      'runtime_reload',
    );
    expect(sessions).toBe('0\n');
  });
});
