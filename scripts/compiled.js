/**
 * Whether the compiled JavaScript in dist/ (`npm run build`, run by `npm ci`) is current:
 * built after the last change to any file under src/ (or to bench/case.ts, bench/post.ts). `bin/malist.js` runs dist/ only
 * then, and the TypeScript sources through tsx otherwise, so an edit is never shadowed by
 * an older build.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const STAMP = join('dist', '.built');

function newestIn(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(
      newest,
      entry.isDirectory() ? newestIn(path) : statSync(path).mtimeMs,
      entry.isDirectory() ? statSync(path).mtimeMs : 0,
    );
  }
  return newest;
}

/** True when `root`/dist holds a build newer than every file it is built from. */
export function buildIsCurrent(root) {
  try {
    const built = statSync(join(root, STAMP)).mtimeMs;
    // The benchmark's case runner is built with src/ (tsconfig.build.json).
    const bench = ['case.ts', 'post.ts'].map((f) => join(root, 'bench', f));
    const newestBench = Math.max(
      0,
      ...bench.map((f) => statSync(f, { throwIfNoEntry: false })?.mtimeMs ?? 0),
    );
    return built >= newestIn(join(root, 'src')) && built >= newestBench;
  } catch {
    return false;
  }
}
