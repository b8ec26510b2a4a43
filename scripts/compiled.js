/**
 * Whether a compiled build is current: made after the last change to any file it is built
 * from. `bin/malist.js` runs the package build (dist/, made by `npm ci` through `prepare`)
 * only then, and the TypeScript sources through tsx otherwise, so an edit is never shadowed
 * by an older build. The benchmark's case runner has its own build (bench/dist/).
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The builds: their tsconfig, their stamp and the files they are built from (all relative). */
export const BUILDS = {
  package: { tsconfig: 'tsconfig.build.json', stamp: join('dist', '.built'), sources: ['src'] },
  bench: {
    tsconfig: 'tsconfig.bench.json',
    stamp: join('bench', 'dist', '.built'),
    sources: [
      'src',
      join('bench', 'case.ts'),
      join('bench', 'post.ts'),
      join('bench', 'dkim-sign.ts'),
    ],
  },
};

/** The package build's stamp. */
export const STAMP = BUILDS.package.stamp;

/** The newest modification time of `path`, of every file and folder below it included. */
function newest(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs;
  for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)));
  return latest;
}

/** True when `root` holds a build (`BUILDS.package` unless told) newer than its sources. */
export function buildIsCurrent(root, build = BUILDS.package) {
  const built = statSync(join(root, build.stamp), { throwIfNoEntry: false })?.mtimeMs;
  if (built === undefined) return false;
  return build.sources.every((source) => built >= newest(join(root, source)));
}
