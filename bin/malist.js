#!/usr/bin/env node
// The `malist` command. Installed from the package, it runs the compiled JavaScript in dist/
// (the package ships no sources and needs no TypeScript loader). In a checkout (src/ beside
// dist/) it runs dist/ while that build is current (`npm ci` builds it through `prepare`;
// `npm run build` refreshes it), and otherwise the TypeScript sources through tsx's ESM hook,
// so an edit in src/ is never shadowed by an older build. The build starts faster and takes
// ~35 MB less memory (tsx compiles every module at start-up, in a loader thread with its own
// heap). MALIST_FROM_SOURCE=1 always runs the sources of a checkout. Of the build it runs the
// bundle, dist/bin/main.js (one file and the chunks it needs, not ~300 modules: see
// scripts/build.js), and the modules in dist/cli/ when the build made no bundle. `malist
// receive`, a process per mail, runs its own bundle, dist/bin/receive.cjs, compiled from the
// code cache the build made beside it (cached-script.js). MALIST_FROM_BUILD=1 runs the build
// of a checkout without checking that it is current (the benchmark, which has just built it:
// the check reads every file under src/, ~30 ms of CPU an installed malist never spends).
//
// This file and cached-script.js are CommonJS (bin/package.json): a CommonJS main module
// starts without Node's ES module loader, and takes from node:fs and the other built-ins
// only what it uses, where an ES module's import of a built-in makes its whole namespace
// (node:fs's would load its streams). `malist receive` pays neither; the other commands
// load their ES modules with import() as before.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');

async function fromCheckout() {
  if (process.env.MALIST_FROM_SOURCE !== '1' && process.env.MALIST_FROM_BUILD === '1') return false;
  const { buildIsCurrent } = await import('../scripts/compiled.js');
  return process.env.MALIST_FROM_SOURCE === '1' || !buildIsCurrent(root);
}

/** `malist receive`'s own bundle, compiled from its code cache, when the build made them. */
function receiveBundle() {
  const bundle = join(root, 'dist', 'bin', 'receive.cjs');
  if (process.argv[2] !== 'receive' || !existsSync(bundle)) return undefined;
  const { runCached } = require('./cached-script.js');
  return runCached(bundle, join(root, 'dist', 'bin', 'receive.cache')).main;
}

/** The command's `main`: from the sources, receive's bundle, the bundle, or dist/cli/. */
async function load() {
  if (existsSync(join(root, 'src', 'cli', 'main.ts')) && (await fromCheckout())) {
    const { register } = await import('tsx/esm/api');
    register();
    return (await import('../src/cli/main.ts')).main;
  }
  const main = receiveBundle();
  if (main) return main;
  if (existsSync(join(root, 'dist', 'bin', 'main.js')))
    return (await import('../dist/bin/main.js')).main;
  return (await import('../dist/cli/main.js')).main;
}

load()
  .then((main) => main(process.argv.slice(2)))
  .then((code) => {
    process.exitCode = code;
  });
