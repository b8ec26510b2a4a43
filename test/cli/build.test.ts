/**
 * The compiled build (dist/, made by `npm ci` through `prepare`): `bin/malist.js` runs it
 * only while it is newer than every source file, and the sources through tsx otherwise.
 */
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildIsCurrent, STAMP } from '../../scripts/compiled.js';
import { malist, ROOT, tempConfig } from './run-malist.ts';

const made: string[] = [];
afterAll(async () => {
  for (const dir of made) await rm(dir, { recursive: true, force: true });
});

describe('buildIsCurrent', () => {
  it('is true only while the stamp is newer than every file under src/', async () => {
    const root = await mkdtemp(join(tmpdir(), 'malist-build-'));
    made.push(root);
    await mkdir(join(root, 'src/cli'), { recursive: true });
    await writeFile(join(root, 'src/cli/main.ts'), 'export {};\n');
    const past = new Date(Date.now() - 60_000);
    await utimes(join(root, 'src/cli/main.ts'), past, past);
    await utimes(join(root, 'src/cli'), past, past);
    await utimes(join(root, 'src'), past, past);
    expect(buildIsCurrent(root)).toBe(false); // no build at all
    await mkdir(join(root, 'dist'));
    await writeFile(join(root, STAMP), 'now\n');
    expect(buildIsCurrent(root)).toBe(true);
    // An edit after the build: the sources win.
    const later = new Date(Date.now() + 60_000);
    await utimes(join(root, 'src/cli/main.ts'), later, later);
    expect(buildIsCurrent(root)).toBe(false);
  });
});

describe('the installed command', () => {
  const current = buildIsCurrent(ROOT);
  if (!current && process.env.CI !== 'true')
    process.stderr.write(
      '\n*** dist/ is not current (run `npm run build`): the CLI tests run the sources through tsx ***\n\n',
    );

  it('npm ci left a current build, so every CLI test runs what users run', () => {
    if (process.env.CI !== 'true') return;
    expect(current, 'npm ci should have built dist/ (the prepare script)').toBe(true);
  });

  it('runs the same with the sources forced (MALIST_FROM_SOURCE=1)', async () => {
    const dir = await tempConfig();
    made.push(dir);
    const built = await malist(['check', '--config', dir]);
    const source = await malist(['check', '--config', dir], { env: { MALIST_FROM_SOURCE: '1' } });
    expect(built.code).toBe(0);
    expect(source.code).toBe(built.code);
    expect(source.stdout).toBe(built.stdout);
  });
});
