/**
 * `malist storage migrate` moves the web's own credentials (src/cli/storage-migrate-web.ts)
 * through the real CLI and a real PostgreSQL: an admin password and two API tokens made with
 * `malist web` on files, one revoked; migrated (a dry run first, writing nothing; a second
 * run copying nothing) the password and the live token work on PostgreSQL, the revoked one
 * does not, and neither the password nor a token is anywhere in the database. A token revoked
 * on PostgreSQL is not brought back by migrating the stale files again, and back to files
 * the revocation, a new token and the changed password come along.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/state/pg.ts';
import { PgWebCredentials } from '../../src/state/pg-web-credentials.ts';
import { FileWebCredentials } from '../../src/state/web-credentials.ts';
import { malist, tempConfig } from '../cli/run-malist.ts';
import { type Postgres, postgresAvailable, startPostgres } from '../helpers/postgres.ts';

const available = postgresAvailable();

describe.skipIf(!available)("malist storage migrate: the web's admins and API tokens", () => {
  let pg: Postgres;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 120_000);
  afterAll(() => pg?.stop());

  it('both ways, counted, idempotent; a revoked token stays revoked', async () => {
    const url = await pg.createDatabase('migrate_web');
    const env = { DATABASE_URL: url };
    const base = 'state_dir: var/state\nfetch: []\ndistribute: { type: maildir, dir: var/out }\n';
    const onFiles = base;
    const onPostgres = `${base}storage:\n  type: postgres\n  url_env: DATABASE_URL\n`;
    const dir = await tempConfig(onFiles);
    const use = (text: string) => writeFile(join(dir, 'malist.yaml'), text);
    const cli = async (args: string[], input?: string) => {
      const ran = await malist([...args, '--config', dir], {
        env,
        ...(input !== undefined ? { input } : {}),
      });
      expect(ran.code, ran.stderr).toBe(0);
      return ran.stdout;
    };
    const psql = (sql: string) => pg.psql(sql, 'migrate_web').trim();
    const create = async (scope: string) =>
      /malist_\S+/.exec(await cli(['web', 'token', 'create', '--scope', scope]))![0];
    const idOf = async (token: string) =>
      (await new FileWebCredentials(join(dir, 'var/state')).findToken(token))!.id;

    // On files: a password, two tokens, one revoked.
    await cli(['web', 'passwd', 'admin'], 'correct horse battery\n');
    const kept = await create('list:red');
    const gone = await create('admin');
    const goneId = await idOf(gone);
    await cli(['web', 'token', 'revoke', goneId]);
    const keptId = await idOf(kept);

    await use(onPostgres);
    await cli(['storage', 'upgrade']);
    expect(await cli(['storage', 'status'])).toMatch(/^ {2}web_credentials: version 1$/m);
    const dry = await cli(['storage', 'migrate', '--to', 'postgres', '--dry-run']);
    expect(dry).toMatch(/web admins \(password hashes\): 1 to move .*1 to copy/);
    expect(dry).toMatch(/^web API tokens: 1 to move .*1 to copy/m);
    expect(dry).toMatch(/revoked web API tokens: 1 to move .*1 to copy/);
    for (const table of ['malist_web_admins', 'malist_web_tokens'])
      expect(psql(`SELECT count(*) FROM ${table}`)).toBe('0');

    const moved = await cli(['storage', 'migrate', '--to', 'postgres']);
    expect(moved).toMatch(
      /web admins \(password hashes\): 1 at the source, 1 copied .*\(checked\)/,
    );
    expect(moved).toMatch(/^web API tokens: 1 at the source, 1 copied .*\(checked\)/m);
    expect(moved).toMatch(/revoked web API tokens: 1 at the source, 1 copied .*\(checked\)/);
    // Hashes only: neither the password nor a token is in the database.
    for (const secret of ['correct horse battery', kept, gone])
      expect(
        psql(
          `SELECT count(*) FROM malist_web_admins a, malist_web_tokens t WHERE a::text || t::text LIKE '%${secret}%'`,
        ),
      ).toBe('0');
    const again = JSON.parse(await cli(['storage', 'migrate', '--to', 'postgres', '--json'])) as {
      parts: Array<{ what: string; copied: number; present: number; source: number }>;
    };
    const web = again.parts.filter((p) => p.what.startsWith('web-'));
    expect(web.map((p) => [p.what, p.source, p.present, p.copied])).toEqual([
      ['web-admins', 1, 1, 0],
      ['web-tokens', 1, 1, 0],
      ['web-revoked', 1, 1, 0],
    ]);

    // On PostgreSQL: what `malist serve` would check.
    const db = await openDatabase(url);
    try {
      const rows = await PgWebCredentials.open(db);
      expect(await rows.checkPassword('admin', 'correct horse battery')).toBe(true);
      expect((await rows.findToken(kept))?.scopes).toEqual(['list:red']);
      expect(await rows.findToken(gone)).toBeUndefined();
      expect(await cli(['web', 'token', 'list'])).toMatch(new RegExp(`^${keptId}\\tlist:red\\t`));

      // Revoked on PostgreSQL: migrating the stale files again does not bring it back.
      await cli(['web', 'token', 'revoke', keptId]);
      const newer = await create('list:red:read');
      await cli(['web', 'passwd', 'admin'], 'a newer password here\n');
      const stale = await cli(['storage', 'migrate', '--to', 'postgres']);
      expect(stale).toMatch(/^web API tokens: 1 at the source, 0 copied .*, 1 already there/m);
      expect(await rows.findToken(kept)).toBeUndefined();
      expect(await rows.checkPassword('admin', 'a newer password here')).toBe(true);

      // Back to files: the revocation, the new token and the changed password.
      const back = await cli(['storage', 'migrate', '--to', 'files']);
      expect(back).toMatch(
        /web admins \(password hashes\): 1 at the source, 1 copied .*\(checked\)/,
      );
      expect(back).toMatch(/^web API tokens: 1 at the source, 1 copied .*\(checked\)/m);
      expect(back).toMatch(
        /revoked web API tokens: 2 at the source, 1 copied to files, 1 already there.*\(checked\)/,
      );
      await use(onFiles);
      const files = new FileWebCredentials(join(dir, 'var/state'));
      expect(await files.findToken(kept)).toBeUndefined();
      expect(await files.findToken(gone)).toBeUndefined();
      expect((await files.findToken(newer))?.scopes).toEqual(['list:red:read']);
      expect(await files.checkPassword('admin', 'a newer password here')).toBe(true);
      expect((await cli(['web', 'token', 'list'])).trim().split('\n')).toHaveLength(1);
    } finally {
      await db.close();
    }
  }, 240_000);
});
