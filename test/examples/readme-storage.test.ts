/**
 * README's "Storage: files or PostgreSQL" example as an operator runs it: its malist.yaml
 * and list file, then each command of its shell block, against a real PostgreSQL.
 */
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileJournal } from '../../src/state/journal.ts';
import { malist, ROOT } from '../cli/run-malist.ts';
import { type Postgres, postgresAvailable, startPostgres } from '../helpers/postgres.ts';

const available = postgresAvailable();

describe.skipIf(!available)("README's storage example", () => {
  let pg: Postgres;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 120_000);
  afterAll(() => pg?.stop());

  it('its configuration checks out and every command of it succeeds', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const at = readme.indexOf('## Storage: files or PostgreSQL');
    const section = readme.slice(at, readme.indexOf('\n## ', at + 1));
    const [main, list] = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const marker = section.indexOf('<!-- storage-example');
    const sh = /```sh\n([\s\S]*?)```/.exec(section.slice(marker))![1]!;
    const dir = await mkdtemp(join(tmpdir(), 'malist-readme-storage-'));
    await mkdir(join(dir, 'lists'));
    await writeFile(join(dir, 'malist.yaml'), main!);
    // The list as it was on files: its members in the file, to be moved.
    await writeFile(join(dir, 'lists/red.yaml'), `${list}members: [ann@example.org]\n`);
    await new FileJournal(join(dir, 'var/state/journal')).record('_mail', 'k', {
      outcome: 'distributed',
    });
    const env = { DATABASE_URL: await pg.createDatabase('readme') };
    expect((await malist(['check', '--config', dir], { env })).code).toBe(0);
    for (const line of sh.trim().split('\n')) {
      const words = line.split(/\s+/);
      expect(words[0]).toBe('malist');
      const ran = await malist([...words.slice(1), '--config', dir], { env });
      expect([line, ran.code, ran.stderr]).toEqual([line, 0, '']);
    }
    expect(pg.psql('SELECT count(*) FROM malist_journal', 'readme')).toBe('1\n');
    const members = await malist(['members', 'list', 'red', '--config', dir], { env });
    expect(members.stdout).toBe('ann@example.org\n');
  }, 180_000);
});
