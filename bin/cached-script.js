// A CommonJS bundle compiled with V8's code cache: `malist receive` (a process per mail)
// runs dist/bin/receive.cjs through it, and scripts/build.js makes the cache with it.
// Node 20 has no compile cache for ES modules (module.enableCompileCache is Node 22), so the
// command's own bundle is one CommonJS script, compiled by vm.Script from the bytecode V8
// wrote at build time. A cache from another Node (another V8) is rejected by V8, and the
// script is then compiled from its source as any other: slower, never wrong.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import vm from 'node:vm';

/**
 * The script's function: CommonJS's wrapper, and `__malistImport`, the `import()` the build
 * put in place of each of the script's own (a package loaded on demand, a custom unit by its
 * file URL): a vm script's `import()` does not work once compiled from a code cache, this
 * module's does. Packages resolve from here as from dist/bin/: the same node_modules.
 */
const WRAPPER = [
  '(function (exports, require, module, __filename, __dirname, __malistImport) { ',
  '\n});',
];

/** The `import()` the script is given. */
const importModule = (specifier) => import(specifier);

/**
 * Runs the CommonJS `file` with the code cache in `cacheFile` (when there is one) and
 * returns its exports. `makeCache`: compile without the cache, evaluate, then write the
 * bytecode of everything compiled so far (the modules' top levels) to `cacheFile`.
 */
export function runCached(file, cacheFile, { makeCache = false } = {}) {
  const source = readFileSync(file, 'utf8');
  let cachedData;
  if (!makeCache) {
    try {
      cachedData = readFileSync(cacheFile);
    } catch {
      // No cache (a build without one): compiled from the source.
    }
  }
  const script = new vm.Script(WRAPPER[0] + source + WRAPPER[1], {
    filename: file,
    ...(cachedData ? { cachedData } : {}),
  });
  const module = { exports: {}, filename: file, id: file, loaded: false };
  const run = script.runInThisContext();
  run(module.exports, createRequire(file), module, file, dirname(file), importModule);
  module.loaded = true;
  if (makeCache) writeFileSync(cacheFile, script.createCachedData());
  return module.exports;
}
