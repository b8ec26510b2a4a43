#!/usr/bin/env node
/**
 * `npm run build` (and `npm ci`, through `prepare`): compiles src/ to dist/ with tsc
 * (JavaScript, declarations, source maps), writes the manual page dist/malist.1 from the
 * command table, bundles the command (dist/bin/, below), then stamps the build (dist/.built).
 * `--bench` builds the benchmark's case
 * runner into bench/dist/ instead. With `--if-stale` it does nothing when the build is
 * current. A failed build removes the stamp, so `bin/malist.js` keeps running the sources.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BUILDS, buildIsCurrent } from './compiled.js';
import { trainReceiveCache } from './receive-training.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** bin/cached-script.js: compiles a script with its code cache (receive's and its deps'). */
const LOADER = join(root, 'bin', 'cached-script.js');

/**
 * The start of receive's script: its URL (for `import.meta.url`), and the loader of its
 * dependencies' script, dist/bin/receive-deps.cjs (zod and yaml, below), compiled from its
 * code cache the first time a module needs either. `__malistDep(name)` is a stand-in for
 * one of them that loads the script on its first read: `z.string()`, `z.ZodError`.
 */
const DEPS_LOADER = `var __malistScriptUrl = require('node:url').pathToFileURL(__filename).href;
var __malistDepsLoaded;
function __malistDeps() {
  return __malistDepsLoaded ??= require('../../bin/cached-script.js').runCached(
    __dirname + '/receive-deps.cjs', __dirname + '/receive-deps.cache');
}
function __malistDep(name) {
  const of = () => __malistDeps()[name];
  return new Proxy({}, { get: (_, key) => of()[key], has: (_, key) => key in of() });
}`;

/** zod's 64 locale modules, which every zod entry re-exports, swapped for English alone. */
const zodEnglish = {
  name: 'zod-english-only',
  setup(build) {
    build.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]/.test(args.importer)
        ? { path: join(args.resolveDir, args.path), namespace: 'zod-locales' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: "export { default as en } from './en.js';\n",
      resolveDir: dirname(args.path),
      loader: 'js',
    }));
  },
};

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
  await bundleCommand();
}
writeFileSync(stamp, `${new Date().toISOString()}\n`);

/**
 * The `malist` command as a bundle: dist/bin/main.js and the chunks of what it imports on
 * demand, dependencies included (better-sqlite3, native, and what malist requires lazily
 * through createRequire stay in node_modules). A process per mail (`malist receive`) spends
 * most of its time in Node's ESM loader — resolving, reading and compiling ~300 modules one
 * by one — and in zod's 64 locale modules, which every zod entry re-exports (malist speaks
 * English: the bundle takes `en` alone). BENCHMARKS.md has the figures. dist/index.js and
 * the rest of dist/ stay tsc's output: the package's API and its declarations. `bin/malist.js`
 * runs dist/cli/main.js when there is no bundle (esbuild, a dev dependency, missing).
 */
async function bundleCommand() {
  const out = join(root, 'dist', 'bin');
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    process.stderr.write(
      'malist build: no esbuild (a dev dependency): the command runs unbundled\n',
    );
    return;
  }
  await esbuild.build({
    absWorkingDir: root,
    entryPoints: {
      main: join(root, 'dist', 'cli', 'main.js'),
      // signer-pool.ts starts its worker from './signer-worker.js' beside itself.
      'signer-worker': join(root, 'dist', 'auth', 'signer-worker.js'),
    },
    outdir: out,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Left in node_modules: better-sqlite3 (native), tsx (an optional peer, for custom units
    // in TypeScript) and imapflow (its logger finds worker files beside itself); the last two
    // are imported on demand, so bundling them would save a receive nothing.
    external: ['better-sqlite3', 'imapflow', 'tsx'],
    // CommonJS dependencies inside an ES module bundle call require() for Node's built-ins.
    banner: {
      js: "import { createRequire as __malistCreateRequire } from 'node:module';\nconst require = __malistCreateRequire(import.meta.url);",
    },
    plugins: [zodEnglish],
    logLevel: 'warning',
  });
  // web/static.ts serves its files from './static/' beside itself.
  cpSync(join(root, 'src', 'web', 'static'), join(out, 'static'), { recursive: true });
  await bundleReceive(esbuild, out);
}

/**
 * `malist receive`, a process per mail, as one CommonJS script of its own modules
 * (dist/bin/receive.cjs, from cli/receive-main.ts) and V8's code cache for it
 * (dist/bin/receive.cache): bin/malist.js compiles the script from that cache
 * (bin/cached-script.js), where an ES module bundle is compiled from its source by every
 * process (Node 20 caches no ES module's code). The script is minified and ASCII (what
 * each process reads, hashes and compiles: 0.75 MB, not 1.5 MB; read as latin1, without
 * decoding UTF-8). The cache is made by a child that evaluates the script and handles one
 * post of a scratch configuration (scripts/receive-training.js): it then holds the
 * functions a post runs, not only the modules' top levels. Should that run fail, the cache
 * holds the top levels alone; without a cache, or when V8 rejects it, the script is
 * compiled from its source; without the script, receive runs from dist/bin/main.js.
 * Dynamic imports are inlined, so the script also holds what receive loads on demand
 * (parsed only when called).
 */
async function bundleReceive(esbuild, out) {
  const bundle = join(out, 'receive.cjs');
  const build = buildIdentity();
  // Dependencies a post needs only on demand (mailparser for command mail and digests,
  // libmime and entities for the archive's text and encoded words, tldts for DMARC, pg for
  // storage: postgres, node-pop3, nodemailer's transports): left in node_modules, where the
  // script's require() and import() find them when a mail needs them, so each process reads
  // and keeps a smaller script (1.5 MB, not 3.9 MB; libmime alone brings iconv-lite, 0.7
  // MB). `nodemailer` is named exactly: the parts malist imports by path (addressparser,
  // mail-composer) are used at once and stay in the script. Only malist's own dependencies,
  // which node_modules has for it.
  const onDemand = /^((mailparser|libmime|entities|tldts|pg|node-pop3)(\/.*)?|nodemailer)$/;
  const leaveOnDemand = {
    name: 'leave-on-demand',
    setup(build) {
      build.onResolve({ filter: onDemand }, (args) => ({ path: args.path, external: true }));
    },
  };
  // malist's own import() of a package or of a URL (a custom unit) becomes __malistImport(),
  // which bin/cached-script.js gives the script: a vm script's import() fails once compiled
  // from a code cache. import('./…') of malist's modules stays, for esbuild to inline.
  const ownImport = /\bimport\((?=['"`\w])(?!['"]\.)/g;
  const ownModules = {
    name: 'own-modules',
    setup(build) {
      build.onLoad({ filter: /[\\/]dist[\\/].*\.js$/ }, async (args) => {
        if (/[\\/]node_modules[\\/]/.test(args.path)) return undefined;
        // zod's jitless setting (cli/zod-jitless.ts) is made by receive-deps.cjs as it loads
        // zod: here, its z.config() would load that script at every start.
        if (/[\\/]cli[\\/]zod-jitless\.js$/.test(args.path)) return { contents: '', loader: 'js' };
        const text = await readFile(args.path, 'utf8');
        return {
          contents: text
            // zod and the YAML package, in a script of their own (receive-deps.cjs, below),
            // loaded by the first call that needs one: a schema built, a file parsed. A mail
            // from the check cache needs neither, so its process reads, deserializes and
            // initializes neither.
            // `z` is a stand-in that loads the script on its first property read.
            .replace("createRequire(import.meta.url)('yaml')", '__malistDeps().yaml')
            .replace(/^import \{ z \} from 'zod';$/gm, "const z = __malistDep('z');")
            .replace(ownImport, '__malistImport('),
          loader: 'js',
        };
      });
    },
  };
  // Nothing of zod or yaml in receive's own script: a static import the rewrites above
  // missed would bring the package back into every process.
  const noDeps = {
    name: 'no-deps-in-receive',
    setup(build) {
      build.onResolve({ filter: /^(zod|yaml)(\/.*)?$/ }, (args) => ({
        errors: [{ text: `${args.path} (from ${args.importer}) belongs in receive-deps.cjs` }],
      }));
    },
  };
  const meta = process.env.MALIST_RECEIVE_META;
  const receiveBuild = await esbuild.build({
    // MALIST_RECEIVE_META=FILE: esbuild's metafile of the script (what each module adds), a
    // diagnostic for the bytes every `malist receive` reads and compiles.
    metafile: Boolean(meta),
    absWorkingDir: root,
    entryPoints: [join(root, 'dist', 'cli', 'receive-main.js')],
    outfile: bundle,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    external: ['better-sqlite3', 'imapflow', 'tsx'],
    // import.meta.url is the script's own URL: it lies beside main.js (dist/bin/), so what
    // the modules find relative to it (../../package.json, ./signer-worker.js) is the same.
    define: { 'import.meta.url': '__malistScriptUrl', __MALIST_BUILD__: JSON.stringify(build) },
    banner: { js: DEPS_LOADER },
    plugins: [noDeps, leaveOnDemand, ownModules],
    // Fewer bytes to read and compile, each process. Names are kept: a bug's stack trace
    // from receive names its functions (minified names took the script from 0.92 to 0.65 MB
    // and measured no CPU difference, 280 against 290 ms a receive, medians of 12, load 7–9).
    // MALIST_RECEIVE_PLAIN=1 keeps the whitespace and each module's path in a comment: a
    // diagnostic (which module's top level built what), never shipped.
    minifyWhitespace: process.env.MALIST_RECEIVE_PLAIN !== '1',
    minifySyntax: true,
    logLevel: 'warning',
  });
  if (meta) writeFileSync(meta, JSON.stringify(receiveBuild.metafile));
  const text = await asWrappedAscii(bundle);
  const left = text.match(ownImport);
  if (left) {
    // A dependency's import() the script could not run: receive runs from main.js instead.
    rmSync(bundle, { force: true });
    process.stderr.write(
      `malist build: receive's script kept ${left.length} import(): receive runs from dist/bin/main.js\n`,
    );
    return;
  }
  await bundleReceiveDeps(esbuild, out);
  const cache = join(out, 'receive.cache');
  const untrained = await trainReceiveCache(bundle, cache, LOADER, root);
  if (untrained) {
    process.stderr.write(
      `malist build: receive's code cache holds the top level alone: ${untrained}\n`,
    );
    topLevelCache(bundle, cache);
  }
  if (!cacheAccepted(bundle, cache, LOADER)) {
    rmSync(cache, { force: true });
    process.stderr.write('malist build: no code cache for receive: it compiles from source\n');
  }
}

/**
 * What receive's modules need only to check a configuration or parse YAML, and a mail from
 * the check cache never: zod (all of its classic API, with English messages alone) and the
 * yaml package, as one CommonJS script with the code cache of its top level
 * (dist/bin/receive-deps.cjs, .cache), exporting `{ z, yaml }`. Out of receive's own
 * script, each process reads and deserializes ~0.3 MB less of it (BENCHMARKS.md); the
 * first mail after an edit loads this one.
 */
async function bundleReceiveDeps(esbuild, out) {
  const bundle = join(out, 'receive-deps.cjs');
  // zod's index exports `z` as `import * as z from './v4/classic/external.js'`.
  const zod = join(dirname(createRequire(import.meta.url).resolve('zod')), 'v4', 'classic');
  await esbuild.build({
    stdin: {
      // jitless: as cli/zod-jitless.ts sets it for receive, before any schema is made.
      contents: `const z = require('./external.js');\nz.config({ jitless: true });\nmodule.exports = { z, yaml: require('yaml') };`,
      resolveDir: zod,
      loader: 'js',
    },
    absWorkingDir: root,
    outfile: bundle,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    plugins: [zodEnglish],
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'warning',
  });
  await asWrappedAscii(bundle);
  topLevelCache(bundle, join(out, 'receive-deps.cache'));
}

/**
 * Rewrites the script `bundle` as bin/cached-script.js compiles it; returns its text.
 * esbuild escapes non-ASCII characters in strings, not in regular expression literals
 * (the reply prefixes, the bounce words): \uXXXX means the same code unit in both. Written
 * inside the function wrapper bin/cached-script.js compiles it in: each process then
 * compiles the string it read, with no copy made to join the wrapper's parts, and reads it
 * as latin1 without scanning it (a script that begins with the wrapper is ASCII: only this
 * build writes one, from the ASCII text).
 */
async function asWrappedAscii(bundle) {
  const text = (await readFile(bundle, 'utf8')).replace(
    /[\u0080-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  const { wrapped } = createRequire(import.meta.url)(LOADER);
  writeFileSync(bundle, wrapped(text));
  return text;
}

/** Writes `cache`, the code cache of `bundle`'s top level (a new process runs it); none when that fails. */
function topLevelCache(bundle, cache) {
  const made = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const { runCached } = await import(${JSON.stringify(pathToFileURL(LOADER).href)});
runCached(${JSON.stringify(bundle)}, ${JSON.stringify(cache)}, { makeCache: true });`,
    ],
    { cwd: root, stdio: 'inherit' },
  );
  if (made.status !== 0) rmSync(cache, { force: true });
}

/**
 * What the code of this build is: a SHA-256 of the compiled modules (dist/, without the
 * bundles made from them) and of package-lock.json (zod's and yaml's versions). The receive
 * script's check cache keys its entries with it (src/config/check-cache.ts): a build that
 * checks or parses differently never reads an older build's answers; the same code does.
 */
function buildIdentity() {
  const hash = createHash('sha256');
  const dist = join(root, 'dist');
  const files = readdirSync(dist, { recursive: true })
    .filter((f) => f.endsWith('.js') && !f.startsWith(`bin${sep}`))
    .sort();
  for (const file of files)
    hash
      .update(file)
      .update('\0')
      .update(readFileSync(join(dist, file)));
  try {
    hash.update(readFileSync(join(root, 'package-lock.json')));
  } catch {
    // Built without a lock file: the modules alone say what the code is.
  }
  return hash.digest('hex').slice(0, 32);
}

/** True when a new process (this Node, no flags) compiles `bundle` from `cache`. */
function cacheAccepted(bundle, cache, loader) {
  const check = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const { cacheRejected } = await import(${JSON.stringify(pathToFileURL(loader).href)});
process.exitCode = cacheRejected(${JSON.stringify(bundle)}, ${JSON.stringify(cache)}) ? 1 : 0;`,
    ],
    { cwd: root, env: { PATH: process.env.PATH ?? '' }, stdio: 'inherit' },
  );
  return check.status === 0;
}
