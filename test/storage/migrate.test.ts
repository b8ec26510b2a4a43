/**
 * `malist storage migrate --to postgres|files [--dry-run]` through the real command line:
 * the journal and the members of `member_store: postgres` lists, counted before and after,
 * a dry run that writes nothing, a second run that copies nothing, and the way back.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileJournal, type KeyedJournalEntry } from '../../src/state/journal.ts';
import { malist } from '../cli/run-malist.ts';
import { type Postgres, postgresAvailable, startPostgres } from '../helpers/postgres.ts';

const available = postgresAvailable();

async function records(journal: FileJournal, scope: string): Promise<KeyedJournalEntry[]> {
  const out: KeyedJournalEntry[] = [];
  for await (const r of journal.recent(scope)) out.push(r);
  return out;
}

describe.skipIf(!available)('malist storage migrate', () => {
  let pg: Postgres;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 120_000);
  afterAll(() => pg?.stop());

  it('copies the journal and the members to PostgreSQL and back, checked by counts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'malist-migrate-'));
    const url = await pg.createDatabase('migrate');
    const env = { DATABASE_URL: url };
    await mkdir(join(dir, 'lists'));
    await writeFile(
      join(dir, 'malist.yaml'),
      'state_dir: state\nstorage: { type: postgres, url_env: DATABASE_URL }\nfetch: []\ndistribute: { type: maildir, dir: out }\n',
    );
    await writeFile(
      join(dir, 'lists/red.yaml'),
      'address: red@list.example.com\nmember_store: postgres\nmembers:\n  - ann@example.org\n  - Bob Martin <bob@example.net>\n  - carol@example.org\n',
    );
    const journal = new FileJournal(join(dir, 'state/journal'));
    for (let i = 0; i < 5; i++)
      await journal.record('_mail', `key${i}`, { outcome: 'distributed', messageId: `<${i}@x>` });
    await journal.record('red', 'key0', { outcome: 'distributed', done: ['ann@example.org'] });
    const storage = (args: string[]) => malist(['storage', ...args, '--config', dir], { env });

    const dry = await storage(['migrate', '--to', 'postgres', '--dry-run']);
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(
      'journal records: 6 to move to postgres postgres://malist@127.0.0.1',
    );
    expect(dry.stdout).toContain('members of red: 3 to move to postgres');
    expect(dry.stdout).toContain('0 already there, 3 to copy (dry run: nothing written)');
    expect(pg.psql('SELECT count(*) FROM malist_journal', 'migrate')).toBe('0\n');

    const moved = await storage(['migrate', '--to', 'postgres']);
    expect(moved.code, moved.stderr).toBe(0);
    expect(moved.stdout).toMatch(
      /journal records: 6 at the source, 6 copied to postgres .*, 0 already there; postgres .* holds 6 of them \(checked\)/,
    );
    expect(moved.stdout).toMatch(
      /members of red: 3 at the source, 3 copied .*holds 3 of them \(checked\)/,
    );
    expect(pg.psql('SELECT count(*) FROM malist_journal', 'migrate')).toBe('6\n');
    expect(
      pg.psql(
        "SELECT entry->>'at' = $$" +
          (await journal.get('red', 'key0'))!.at +
          "$$ FROM malist_journal WHERE scope = 'red'",
        'migrate',
      ),
    ).toBe('t\n');
    const listed = await malist(['members', 'list', 'red', '--config', dir], { env });
    expect(listed.stdout).toBe(
      'ann@example.org\nBob Martin <bob@example.net>\ncarol@example.org\n',
    );

    // Again: everything is there already, nothing is copied twice.
    const again = await storage(['migrate', '--to', 'postgres', '--json']);
    const doc = JSON.parse(again.stdout);
    expect(doc.parts).toEqual([
      { what: 'journal', source: 6, present: 6, copied: 0, target: 6 },
      { what: 'members:red', source: 3, present: 3, copied: 0, target: 3 },
    ]);

    // And back: a member added on PostgreSQL, the state directory's journal gone.
    expect(
      (await malist(['members', 'add', 'red', 'dave@example.org', '--config', dir], { env })).code,
    ).toBe(0);
    await rm(join(dir, 'state/journal'), { recursive: true });
    const back = await storage(['migrate', '--to', 'files']);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toContain('journal records: 6 at the source, 6 copied to files');
    expect(back.stdout).toMatch(
      /members of red: 4 at the source, 1 copied to files, 3 already there; files holds 4 of them \(checked\)/,
    );
    expect((await records(journal, '_mail')).map((r) => r.key).sort()).toEqual([
      'key0',
      'key1',
      'key2',
      'key3',
      'key4',
    ]);
    expect((await journal.get('red', 'key0'))?.done).toEqual(['ann@example.org']);
    expect(await readFile(join(dir, 'lists/red.yaml'), 'utf8')).toContain('  - dave@example.org\n');
  }, 180_000);

  it('refuses on storage: files and without --to', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'malist-migrate-'));
    await mkdir(join(dir, 'lists'));
    await writeFile(
      join(dir, 'malist.yaml'),
      'state_dir: state\nfetch: []\ndistribute: { type: maildir, dir: out }\n',
    );
    const files = await malist(['storage', 'migrate', '--to', 'postgres', '--config', dir]);
    expect(files.code).toBe(78);
    expect(files.stderr).toContain('malist.yaml has storage: files; set storage: {type: postgres');
    const usage = await malist(['storage', 'migrate', '--config', dir]);
    expect(usage.code).toBe(64);
    expect(usage.stderr).toContain('--to postgres or --to files');
  }, 120_000);
});
