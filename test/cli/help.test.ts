/**
 * `malist --help`, `malist --version` and the manual page malist(1) say the same things:
 * the manual is written from the command table that --help prints, and man renders it
 * without a warning.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildIsCurrent } from '../../scripts/compiled.js';
import { commands } from '../../src/cli/main.ts';
import { manPage } from '../../src/cli/manual.ts';
import { malist, ROOT, runCommand } from './run-malist.ts';

const words = (text: string) => text.replace(/\s+/g, ' ');

describe('malist --help and --version', () => {
  it('--help lists every command of the table with its summary', async () => {
    const r = await malist(['--help']);
    expect(r.code).toBe(0);
    for (const [name, entry] of Object.entries(commands))
      expect(words(r.stdout)).toContain(` ${name} ${entry.summary}`);
  });

  it('--version prints the version of package.json', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
    const r = await malist(['--version']);
    expect(r).toMatchObject({ code: 0, stdout: `malist ${pkg.version}\n`, stderr: '' });
  });
});

describe('malist(1)', () => {
  const man = spawnSync('man', ['--version']);
  if (man.error && process.env.CI === 'true') throw new Error('man is not installed');
  if (man.error) process.stderr.write('\n!!! man not installed: malist(1) is not rendered !!!\n');

  it.skipIf(Boolean(man.error))(
    'renders with man, naming every command and its summary',
    async () => {
      const file = join(await mkdtemp(join(tmpdir(), 'malist-man-')), 'malist.1');
      await writeFile(file, manPage());
      // Wide enough that no line is filled or hyphenated: the text reads as written.
      const r = await runCommand('man', ['--warnings', '-l', file], {
        env: { MANPAGER: 'cat', MANWIDTH: '500', MAN_KEEP_FORMATTING: '' },
      });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const text = words(r.stdout);
      expect(text).toContain('malist - a mailing-list processor');
      for (const [name, entry] of Object.entries(commands))
        expect(text).toContain(`${name} ${entry.summary}`);
      expect(text).toContain('75 Temporary failure');
    },
  );

  it('is what the build wrote to dist/malist.1 (the page the package ships)', async () => {
    if (!buildIsCurrent(ROOT)) return; // an edit since the build: dist/ is rebuilt before use
    expect(await readFile(join(ROOT, 'dist/malist.1'), 'utf8')).toBe(manPage());
  });
});
