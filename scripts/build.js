#!/usr/bin/env node
/**
 * `npm run build` (and `npm ci`, through `prepare`): compiles src/ to dist/ with tsc, then
 * stamps it (dist/.built). With `--if-stale` it does nothing when the build is current.
 * A failed build removes the stamp, so `bin/malist.js` keeps running the sources.
 */
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIsCurrent, STAMP } from './compiled.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (process.argv.includes('--if-stale') && buildIsCurrent(root)) process.exit(0);
const stamp = join(root, STAMP);
rmSync(stamp, { force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
  cwd: root,
  stdio: 'inherit',
});
if (result.status !== 0) {
  process.stderr.write('malist build failed: bin/malist.js runs the TypeScript sources (tsx)\n');
  process.exit(1);
}
writeFileSync(stamp, `${new Date().toISOString()}\n`);
