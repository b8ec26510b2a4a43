// A CommonJS bundle compiled with V8's code cache: `malist receive` (a process per mail)
// runs dist/bin/receive.cjs through it, and scripts/build.js makes the cache with it.
// Node 20 has no compile cache for ES modules (module.enableCompileCache is Node 22), so the
// command's own bundle is one CommonJS script, compiled by vm.Script from the bytecode V8
// wrote at build time. A cache from another Node (another V8) is rejected by V8, and the
// script is then compiled from its source as any other: slower, never wrong.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import { dirname } from 'node:path';
import vm from 'node:vm';

/** True when this Node can run a script whose `import()` loads ES modules (Node ≥ 20.12). */
export function canRunCached() {
  return vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER !== undefined;
}

/**
 * Node's loader for the script's `import()`, which Node 20 calls experimental and says so on
 * stderr at the first import (a custom unit): the MTA reads that stderr, and the feature is
 * the one `node` itself uses for a CommonJS file, so that one warning is not printed.
 */
function quietLoaderWarning() {
  const emitWarning = process.emitWarning;
  process.emitWarning = function (warning, ...rest) {
    const text = typeof warning === 'string' ? warning : warning?.message;
    if (typeof text === 'string' && text.startsWith('vm.USE_MAIN_CONTEXT_DEFAULT_LOADER ')) return;
    return emitWarning.call(this, warning, ...rest);
  };
}

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
  quietLoaderWarning();
  const script = new vm.Script(Module.wrap(source), {
    filename: file,
    ...(cachedData ? { cachedData } : {}),
    // A custom unit is an ES module, imported by its file URL: Node's own loader.
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const module = { exports: {}, filename: file, id: file, loaded: false };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
  module.loaded = true;
  if (makeCache) writeFileSync(cacheFile, script.createCachedData());
  return module.exports;
}
