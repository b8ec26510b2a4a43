// A CommonJS bundle compiled with V8's code cache: `malist receive` (a process per mail)
// runs dist/bin/receive.cjs through it, and scripts/build.js makes the cache with it.
// Node 20 has no compile cache for ES modules (module.enableCompileCache is Node 22), so the
// command's own bundle is one CommonJS script, compiled by vm.Script from the bytecode V8
// wrote at build time. A cache from another Node (another V8) is rejected by V8, and the
// script is then compiled from its source as any other: slower, never wrong. CommonJS itself
// (bin/package.json), as bin/malist.js is: see there.
'use strict';
const { isAscii } = require('node:buffer');
const { closeSync, fstatSync, openSync, readSync, statSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { dirname } = require('node:path');
const vm = require('node:vm');

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
 * `text` inside the wrapper: the string V8 compiles. A script already inside it is taken as
 * it is: the build writes receive.cjs so (scripts/build.js), which spares each process a
 * second copy of the ~1 MB string, made to join the three parts (~4 ms of CPU, most of it
 * touching new memory). The same string either way, so a code cache fits both.
 */
function wrapped(text) {
  return text.startsWith(WRAPPER[0]) && text.endsWith(WRAPPER[1])
    ? text
    : WRAPPER[0] + text + WRAPPER[1];
}

/** The wrapper's first bytes, as the build writes them at the head of its script. */
const BUILT = Buffer.from(WRAPPER[0], 'latin1');

/**
 * The script's source, read into `memory`. The build writes it in ASCII (scripts/build.js),
 * read as latin1: a string of one byte a character, made without decoding UTF-8 (a third of
 * the time to read it) and cheaper for V8 to hash and compile. A script that begins with
 * the wrapper is the build's, ASCII by construction, so its ~0.7 MB is not scanned again
 * (isAscii: ~1.5 ms a process); any other script is checked, and read as UTF-8 unless it is
 * ASCII.
 */
function sourceOf(file, memory) {
  const bytes = readInto(file, memory);
  const ascii = bytes.subarray(0, BUILT.length).equals(BUILT) || isAscii(bytes);
  return bytes.toString(ascii ? 'latin1' : 'utf8');
}

/** The bytes of `file`, read into `memory.buffer` (replaced by a larger one when it has less room). */
function readInto(file, memory) {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (memory.buffer.length < size) memory.buffer = Buffer.allocUnsafeSlow(size);
    let read = 0;
    for (let n = 1; read < size && n > 0; read += n)
      n = readSync(fd, memory.buffer, read, size - read, read);
    return memory.buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

/** The size of `file`; 0 when there is none. */
function sizeOf(file) {
  return statSync(file, { throwIfNoEntry: false })?.size ?? 0;
}

/**
 * Compiles `file`, from the code cache in `cacheFile` when given, there, and accepted by
 * V8. The script and then its cache are read into the same memory, large enough for
 * either: the script's bytes are in its string by then. Memory a process touches for the
 * first time costs a page fault each 4 KiB, ~10 µs on the machines we measure on
 * (BENCHMARKS.md); the cache's own buffer was ~160 of them a process.
 */
function compile(file, cacheFile) {
  const cacheSize = cacheFile ? sizeOf(cacheFile) : 0;
  const memory = { buffer: Buffer.allocUnsafeSlow(Math.max(sizeOf(file), cacheSize)) };
  const source = wrapped(sourceOf(file, memory));
  const cachedData = cacheSize > 0 ? readInto(cacheFile, memory) : undefined;
  return new vm.Script(source, { filename: file, ...(cachedData ? { cachedData } : {}) });
}

/** True when V8 does not compile `file` from the cache in `cacheFile` (the build checks). */
function cacheRejected(file, cacheFile) {
  return compile(file, cacheFile).cachedDataRejected !== false;
}

/** Compiles `file` (with the code cache in `cacheFile`, when given) and evaluates it; returns both. */
function evaluate(file, cacheFile) {
  const script = compile(file, cacheFile);
  const module = { exports: {}, filename: file, id: file, loaded: false };
  const run = script.runInThisContext();
  run(module.exports, createRequire(file), module, file, dirname(file), importModule);
  module.loaded = true;
  return { script, exports: module.exports };
}

/**
 * Runs the CommonJS `file` with the code cache in `cacheFile` (when there is one) and
 * returns its exports. `makeCache`: compile without the cache, evaluate, then write the
 * bytecode of everything compiled so far (the modules' top levels) to `cacheFile`.
 */
function runCached(file, cacheFile, { makeCache = false } = {}) {
  const { script, exports } = evaluate(file, makeCache ? undefined : cacheFile);
  if (makeCache) writeFileSync(cacheFile, script.createCachedData());
  return exports;
}

/**
 * The build's training run: compiles `file` without a cache, evaluates it, runs its
 * `main(argv)` once (a real command, on the build's own scratch input) and then writes to
 * `cacheFile` the bytecode of every function compiled so far: the modules' top levels and
 * what the command called (V8 compiles a function when it is first called, so a cache
 * made before the command would leave each process to compile those again). Resolves to
 * main's exit code; the cache is written only when it is 0.
 */
async function trainCache(file, cacheFile, argv) {
  const { script, exports } = evaluate(file, undefined);
  const code = await exports.main(argv);
  if (code === 0) writeFileSync(cacheFile, script.createCachedData());
  return code;
}

module.exports = { runCached, trainCache, cacheRejected, wrapped };
