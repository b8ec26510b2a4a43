#!/usr/bin/env node
/**
 * `npm run build` (and `npm ci`, through `prepare`): compiles src/ to dist/ with tsc
 * (JavaScript, declarations, source maps), writes the manual page dist/malist.1 from the
 * command table, then stamps the build (dist/.built). `--bench` builds the benchmark's case
 * runner into bench/dist/ instead. With `--if-stale` it does nothing when the build is
 * current. A failed build removes the stamp, so `bin/malist.js` keeps running the sources.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BUILDS, buildIsCurrent } from './compiled.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const build = process.argv.includes('--bench') ? BUILDS.bench : BUILDS.package;
if (process.argv.includes('--if-stale') && buildIsCurrent(root, build)) process.exit(0);
const stamp = join(root, build.stamp);
rmSync(stamp, { force: true });
// A clean dist/: files left by an older layout (a moved module, an old bench build) would ship.
if (build === BUILDS.package) rmSync(join(root, 'dist'), { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const result = spawnSync(process.execPath, [tsc, '-p', join(root, build.tsconfig)], {
  cwd: root,
  stdio: 'inherit',
});
if (result.status !== 0) {
  process.stderr.write('malist build failed: bin/malist.js runs the TypeScript sources (tsx)\n');
  process.exit(1);
}
if (build === BUILDS.package) {
  // The web's stylesheet and script are served as files, beside the compiled modules.
  cpSync(join(root, 'src', 'web', 'static'), join(root, 'dist', 'web', 'static'), {
    recursive: true,
  });
  const manual = pathToFileURL(join(root, 'dist', 'cli', 'manual.js')).href;
  const { manPage } = await import(manual);
  writeFileSync(join(root, 'dist', 'malist.1'), manPage());
}
writeFileSync(stamp, `${new Date().toISOString()}\n`);
