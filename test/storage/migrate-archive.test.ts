/**
 * `malist storage migrate` moves the archive (src/cli/storage-migrate-archive.ts): files →
 * PostgreSQL → files, through the CLI. A dry run counts and writes nothing, a run copies and
 * counts the target again, a second run copies nothing; `malist archive search` on the
 * PostgreSQL configuration finds the posts in the rows; back on files every post's bytes are
 * the ones archived first (8-bit text included), and the rebuilt index finds them.
 */
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFilesArchive } from '../../src/archive/store.ts';
import { mboxRecord } from '../../src/mail/mbox.ts';
import { malist, tempConfig } from '../cli/run-malist.ts';
import { archivePost } from '../helpers/archive-post.ts';
import { type Postgres, postgresAvailable, startPostgres } from '../helpers/postgres.ts';

const available = postgresAvailable();

const post = (i: number, subject: string, body: string) =>
  archivePost(`arch-${i}@example.org`, subject, body, {
    from: `Zoë Writer <zoe${i}@example.org>`,
    date: `Tue, 0${i} Nov 2026 10:00:00 +0000`,
  });

describe.skipIf(!available)('malist storage migrate: the archive', () => {
  let pg: Postgres;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 120_000);
  afterAll(() => pg?.stop());

  it('files → PostgreSQL → files: counted, once, bytes exact, still found', async () => {
    const env = { DATABASE_URL: await pg.createDatabase('migrate_archive') };
    const base =
      'state_dir: var/state\nfetch: []\ndistribute: { type: archive, dir: var/archive }\n';
    const onPostgres = `${base}storage:\n  type: postgres\n  url_env: DATABASE_URL\n`;
    const dir = await tempConfig(base);
    const use = (text: string) => writeFile(join(dir, 'malist.yaml'), text);
    const cli = (args: string[]) => malist([...args, '--config', dir], { env });
    const psql = (sql: string) => pg.psql(sql, 'migrate_archive').trim();
    const root = join(dir, 'var/archive');

    const posts = [
      post(1, 'Grüße aus Köln', 'Schöne Grüße, der Dom steht noch.'),
      post(2, 'Zeppelin sighting', 'A zeppelin over the harbour.\nFrom the pier it looked small.'),
      post(3, 'Re: Zeppelin sighting', '> A zeppelin over the harbour.\nIt was a blimp.'),
    ];
    const files = openFilesArchive(root);
    for (const p of posts) await files.add('red', p, Date.UTC(2026, 10, 20));
    const before = new Map<string, Buffer>();
    for (const p of await files.monthPosts('red', '2026-11'))
      before.set(p.messageId, await files.read(p));
    await files.close();
    expect(before.size).toBe(3);

    await use(onPostgres);
    const dry = await cli(['storage', 'migrate', '--to', 'postgres', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(
      /archived posts of red: 3 to move to .*, 0 already there, 3 to copy/,
    );
    expect(psql("SELECT count(*) FROM malist_schema WHERE part = 'archive'")).toMatch(/^[01]$/);
    if (psql("SELECT to_regclass('malist_archive') IS NOT NULL") === 't')
      expect(psql('SELECT count(*) FROM malist_archive')).toBe('0');

    const moved = await cli(['storage', 'migrate', '--to', 'postgres']);
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stdout).toMatch(
      /archived posts of red: 3 at the source, 3 copied to .*, 0 already there; .* holds 3 of them \(checked\)/,
    );
    expect(psql('SELECT count(*) FROM malist_archive')).toBe('3');
    const again = await cli(['storage', 'migrate', '--to', 'postgres']);
    expect(again.stdout).toMatch(/archived posts of red: 3 at the source, 0 copied to /);

    // On PostgreSQL, `malist archive search` reads the rows.
    const found = await cli(['archive', 'search', '--list', 'red', '--json', 'zeppelin']);
    expect(found.code, found.stderr).toBe(0);
    const hits = found.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { messageId: string });
    expect(hits.map((h) => h.messageId).sort()).toEqual([
      'arch-2@example.org',
      'arch-3@example.org',
    ]);
    const grusse = await cli(['archive', 'search', '--list', 'red', '--json', 'grüße']);
    expect(grusse.stdout).toContain('arch-1@example.org');
    const exported = await cli(['archive', 'export', '--list', 'red']);
    expect(exported.stdout.match(/^From /gm)).toHaveLength(3);
    expect(exported.stdout).toContain('\n>From the pier');

    // An import on PostgreSQL adds rows; what the list holds is skipped.
    const history = join(dir, 'history.mbox');
    await writeFile(
      history,
      Buffer.concat(
        [post(4, 'Airship', 'An airship, later.'), post(1, 'again', 'again')].map((b) =>
          mboxRecord(b, 'x@example.org'),
        ),
      ),
    );
    const imported = await cli(['archive', 'import', '--list', 'red', history]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toContain('red: 1 posts imported');
    expect(imported.stdout).toContain('1 already archived, 2 read');
    expect(psql('SELECT count(*) FROM malist_archive')).toBe('4');
    before.set('arch-4@example.org', post(4, 'Airship', 'An airship, later.'));

    // Back to files, into an empty archive.
    await rm(root, { recursive: true, force: true });
    const back = await cli(['storage', 'migrate', '--to', 'files']);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toMatch(
      /archived posts of red: 4 at the source, 4 copied to .*, 0 already there; .* holds 4 of them \(checked\)/,
    );
    expect(await readdir(join(root, 'red'))).toContain('2026-11.mbox');
    const twice = await cli(['storage', 'migrate', '--to', 'files']);
    expect(twice.stdout).toMatch(/archived posts of red: 4 at the source, 0 copied to /);

    const after = openFilesArchive(root);
    try {
      const listed = await after.monthPosts('red', '2026-11');
      expect(listed).toHaveLength(4);
      for (const p of listed)
        expect((await after.read(p)).equals(before.get(p.messageId)!)).toBe(true);
      const hitsBack = await after.search({ q: '"zeppelin over the harbour"' });
      expect(hitsBack.hits.map((h) => h.post.messageId).sort()).toEqual([
        'arch-2@example.org',
        'arch-3@example.org',
      ]);
      expect((await after.threadPosts('red', 'arch-2@example.org')).length).toBe(2);
    } finally {
      await after.close();
    }
  }, 240_000);
});
