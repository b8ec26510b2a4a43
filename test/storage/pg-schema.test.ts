/**
 * The PostgreSQL foundation every store on it shares (src/state/pg.ts, `storage:` in
 * malist.yaml, `malist storage status|upgrade`), against a real PostgreSQL the test starts.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  openDatabase,
  requireSchema,
  type SchemaPart,
  schemaVersions,
  upgradeSchema,
} from '../../src/state/pg.ts';
import { malist } from '../cli/run-malist.ts';
import { type Postgres, postgresAvailable, startPostgres } from '../helpers/postgres.ts';

const available = postgresAvailable();

const widgets = (n: number): SchemaPart => ({
  name: 'widgets',
  migrations: [
    'CREATE TABLE widgets (id serial PRIMARY KEY, name text NOT NULL)',
    'ALTER TABLE widgets ADD COLUMN size integer NOT NULL DEFAULT 0',
    'CREATE INDEX widgets_size ON widgets (size)',
  ].slice(0, n),
});

describe.skipIf(!available)('PostgreSQL schema parts', () => {
  let pg: Postgres;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 120_000);
  afterAll(() => pg?.stop());

  it('creates a fresh part, upgrades an older one only when asked, refuses a newer one', async () => {
    const url = await pg.createDatabase('schema_a');
    const db = await openDatabase(url);
    try {
      await requireSchema(db, widgets(1)); // fresh: created
      expect(await schemaVersions(db, [widgets(1)])).toEqual([
        { part: 'widgets', version: 1, latest: 1 },
      ]);
      // The code moved on: the store refuses to run on old tables and names the command.
      await expect(requireSchema(db, widgets(3))).rejects.toThrow(
        /version 1 .*older .*malist storage upgrade/,
      );
      expect(await upgradeSchema(db, [widgets(3)])).toEqual([{ part: 'widgets', from: 1, to: 3 }]);
      await requireSchema(db, widgets(3));
      expect(
        pg.psql("SELECT count(*) FROM pg_indexes WHERE indexname = 'widgets_size'", 'schema_a'),
      ).toBe('1\n');
      // Older code on newer tables: refused, both ways of meeting them.
      await expect(requireSchema(db, widgets(2))).rejects.toThrow(/newer than this malist's 2/);
      await expect(upgradeSchema(db, [widgets(2)])).rejects.toThrow(/newer than this malist knows/);
    } finally {
      await db.close();
    }
  });

  it('applies each migration once when several processes upgrade at the same moment', async () => {
    const url = await pg.createDatabase('schema_b');
    const pools = await Promise.all([1, 2, 3, 4].map(() => openDatabase(url)));
    try {
      const results = await Promise.all(pools.map((db) => upgradeSchema(db, [widgets(3)])));
      // One did the work; the others found it done (a second CREATE TABLE would have thrown).
      expect(results.map((r) => r[0]?.from).sort()).toEqual([0, 3, 3, 3]);
    } finally {
      await Promise.all(pools.map((db) => db.close()));
    }
  });

  it('a failed migration leaves the part at its old version, nothing half-applied', async () => {
    const url = await pg.createDatabase('schema_c');
    const db = await openDatabase(url);
    try {
      await upgradeSchema(db, [widgets(1)]);
      const broken: SchemaPart = {
        name: 'widgets',
        migrations: [...widgets(2).migrations, 'CREATE INDEX oops ON nowhere (x)'],
      };
      await expect(upgradeSchema(db, [broken])).rejects.toThrow(/nowhere/);
      expect(await schemaVersions(db, [broken])).toEqual([
        { part: 'widgets', version: 1, latest: 3 },
      ]);
      expect(
        pg.psql(
          "SELECT count(*) FROM information_schema.columns WHERE table_name = 'widgets' AND column_name = 'size'",
          'schema_c',
        ),
      ).toBe('0\n');
    } finally {
      await db.close();
    }
  });

  it('malist storage status/upgrade through the real CLI; the URL from the environment, its password never printed', async () => {
    const url = await pg.createDatabase('schema_cli');
    pg.psql("ALTER USER malist PASSWORD 'hunter2-secret'", 'postgres');
    const withPassword = url.replace('malist@', 'malist:hunter2-secret@');
    const dir = await mkdtemp(join(tmpdir(), 'malist-storage-'));
    await writeFile(
      join(dir, 'malist.yaml'),
      'storage:\n  type: postgres\n  url_env: DATABASE_URL\ndistribute:\n  - type: mbox\n    path: out.mbox\n',
    );
    const env = { DATABASE_URL: withPassword };
    const status = await malist(['storage', 'status', '--config', dir], { env });
    expect(status.stderr).toBe('');
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(
      `storage: postgres postgres://malist@127.0.0.1:${pg.port}/schema_cli`,
    );
    const upgrade = await malist(['storage', 'upgrade', '--json', '--config', dir], { env });
    expect(upgrade.code).toBe(0);
    expect(JSON.parse(upgrade.stdout)).toMatchObject({ storage: 'postgres' });
    for (const out of [status, upgrade]) expect(out.stdout + out.stderr).not.toContain('hunter2');

    // A literal URL in YAML is refused at its line, with the fix.
    await writeFile(
      join(dir, 'malist.yaml'),
      `storage:\n  type: postgres\n  url: ${url}\ndistribute:\n  - type: mbox\n    path: out.mbox\n`,
    );
    const literal = await malist(['storage', 'status', '--config', dir]);
    expect(literal.code).toBe(78);
    expect(literal.stderr).toMatch(/malist\.yaml:3.*literal url/s);
    expect(literal.stderr).toContain('url_env:');
    // The variable unset: one problem at its line, no second "missing url".
    await writeFile(
      join(dir, 'malist.yaml'),
      'storage:\n  type: postgres\n  url_env: NO_SUCH_VARIABLE_X\ndistribute:\n  - type: mbox\n    path: out.mbox\n',
    );
    const unset = await malist(['storage', 'status', '--config', dir], {
      env: { NO_SUCH_VARIABLE_X: '' },
    });
    expect(unset.code).toBe(78);
    expect(unset.stderr).toMatch(/malist\.yaml:3.*NO_SUCH_VARIABLE_X is not set/s);
    expect(unset.stderr).not.toMatch(/expected (a postgres|url_env)/);

    // Files: nothing to upgrade.
    await writeFile(join(dir, 'malist.yaml'), 'distribute:\n  - type: mbox\n    path: out.mbox\n');
    const files = await malist(['storage', 'status', '--config', dir]);
    expect(files.code).toBe(0);
    expect(files.stdout).toMatch(/^storage: files in /);
  }, 120_000);
});
