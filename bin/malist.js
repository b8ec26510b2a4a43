#!/usr/bin/env node
// The `malist` command. It runs the compiled JavaScript in dist/ when that build is current
// (`npm ci` builds it; `npm run build` refreshes it), and otherwise the TypeScript sources
// through tsx's ESM hook, so an edit in src/ is never shadowed by an older build. The build
// starts faster and takes ~35 MB less memory (tsx compiles every module at start-up, in a
// loader thread with its own heap). MALIST_FROM_SOURCE=1 always runs the sources.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildIsCurrent } from '../scripts/compiled.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let main;
if (process.env.MALIST_FROM_SOURCE !== '1' && buildIsCurrent(root)) {
  ({ main } = await import('../dist/src/cli/main.js'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
