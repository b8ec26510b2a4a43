/**
 * `malist receive`'s own bundle (dist/bin/receive.cjs) and its code cache
 * (bin/cached-script.js): the script runs with a cache, without one and with a cache V8
 * rejects, its `import()` loads ES modules (custom units), and the command answers as the
 * sources do.
 */
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCached, trainCache, wrapped } from '../../bin/cached-script.js';
import { buildIsCurrent } from '../../scripts/compiled.js';
import { startSmtpServer } from '../helpers/smtp-server.ts';
import { MALIST, malist, post, ROOT, runCommand, tempConfig } from './run-malist.ts';

type Answer = { answer(): string; file: string };
type Value = { value: number };
type Loader = { load(url: string): Promise<{ default: () => string }> };

const made: string[] = [];
afterAll(async () => {
  for (const dir of made) await rm(dir, { recursive: true, force: true });
});

async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'malist-cached-'));
  made.push(dir);
  return dir;
}

/** malist.yaml for a post through the durable queue to a plain SMTP server on `port`. */
function plainQueue(port: number): string {
  return `state_dir: state\ndistribute:\n  type: queue\n  server: out\nservers:\n  out:\n    host: 127.0.0.1\n    port: ${port}\n    starttls: never\nqueue:\n  dir: spool\n`;
}

describe('runCached', () => {
  it('runs a CommonJS script from its source, makes its cache, and runs from the cache', async () => {
    const dir = await scratch();
    const file = join(dir, 'bundle.cjs');
    await writeFile(
      file,
      "const { join } = require('node:path');\nexports.answer = () => join('a', String(6 * 7));\nexports.file = __filename;\n",
    );
    const cache = join(dir, 'bundle.cache');
    expect(runCached<Answer>(file, cache).answer()).toBe('a/42'); // no cache yet
    expect(runCached<Answer>(file, cache, { makeCache: true }).answer()).toBe('a/42');
    expect((await stat(cache)).size).toBeGreaterThan(0);
    const fromCache = runCached<Answer>(file, cache);
    expect(fromCache.answer()).toBe('a/42');
    expect(fromCache.file).toBe(file);
  });

  it('takes a script the build wrote inside the wrapper as it is, with the same cache', async () => {
    const dir = await scratch();
    const file = join(dir, 'bundle.cjs');
    const text = "exports.answer = () => require('node:path').join('w', String(6 * 7));\n";
    await writeFile(file, text);
    const cache = join(dir, 'bundle.cache');
    runCached(file, cache, { makeCache: true });
    expect(wrapped(wrapped(text))).toBe(wrapped(text)); // wrapped once only
    await writeFile(file, wrapped(text));
    expect(runCached<Answer>(file, cache).answer()).toBe('w/42');
    const loader = pathToFileURL(join(ROOT, 'bin/cached-script.js')).href;
    const program = `const { cacheRejected } = await import(${JSON.stringify(loader)});
console.log(cacheRejected(${JSON.stringify(file)}, ${JSON.stringify(cache)}));`;
    const r = await runCommand(process.execPath, ['--input-type=module', '-e', program]);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, 'false\n', '']);
  });

  it('compiles from the source when the cache is not for this script or this V8', async () => {
    const dir = await scratch();
    const file = join(dir, 'bundle.cjs');
    await writeFile(file, 'exports.value = 1;\n');
    const cache = join(dir, 'bundle.cache');
    await writeFile(cache, Buffer.from('not a code cache, or one from another node'));
    expect(runCached<Value>(file, cache).value).toBe(1);
    // A cache made for an older script (another build) is rejected, not run.
    runCached(file, cache, { makeCache: true });
    await writeFile(file, 'exports.value = 2; // a newer build, longer\n');
    expect(runCached<Value>(file, cache).value).toBe(2);
  });

  it('gives the script an import() that loads ES modules (a custom unit), also from the cache', async () => {
    const dir = await scratch();
    await writeFile(join(dir, 'unit.mjs'), 'export default () => "unit";\n');
    const file = join(dir, 'bundle.cjs');
    await writeFile(file, 'exports.load = (url) => __malistImport(url);\n');
    const cache = join(dir, 'bundle.cache');
    const unit = pathToFileURL(join(dir, 'unit.mjs')).href;
    const made = await runCached<Loader>(file, cache, { makeCache: true }).load(unit);
    expect(made.default()).toBe('unit');
    // Compiled from the cache: a vm script's own import() would fail here.
    const cached = await runCached<Loader>(file, cache).load(unit);
    expect(cached.default()).toBe('unit');
  });

  it('trainCache runs main once, then writes the cache only when main returned 0', async () => {
    const dir = await scratch();
    const file = join(dir, 'bundle.cjs');
    await writeFile(
      file,
      'let runs = 0;\nexports.main = async (argv) => { runs++; return Number(argv[0]); };\nexports.runs = () => runs;\n',
    );
    const cache = join(dir, 'bundle.cache');
    expect(await trainCache(file, cache, ['3'])).toBe(3);
    await expect(stat(cache)).rejects.toThrow(/ENOENT/);
    expect(await trainCache(file, cache, ['0'])).toBe(0);
    expect((await stat(cache)).size).toBeGreaterThan(0);
    expect(runCached<{ runs(): number }>(file, cache).runs()).toBe(0); // evaluated, not run
  });

  it('runs the script in a process of its own with nothing on stderr', async () => {
    const dir = await scratch();
    await writeFile(join(dir, 'unit.mjs'), 'export default 7;\n');
    await writeFile(join(dir, 'bundle.cjs'), 'exports.load = (url) => __malistImport(url);\n');
    const loader = pathToFileURL(join(ROOT, 'bin/cached-script.js')).href;
    const program = `const { runCached } = await import(${JSON.stringify(loader)});
const s = runCached(${JSON.stringify(join(dir, 'bundle.cjs'))}, '/nonexistent');
console.log((await s.load(${JSON.stringify(pathToFileURL(join(dir, 'unit.mjs')).href)})).default);`;
    const r = await runCommand(process.execPath, ['--input-type=module', '-e', program]);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, '7\n', '']);
  });
});

describe('malist receive from its bundle', () => {
  const bundled = buildIsCurrent(ROOT);

  it('the build makes the bundle and its code cache', async () => {
    if (!bundled) return; // bin/malist.js runs the sources: build.test.ts says so
    expect((await stat(join(ROOT, 'dist/bin/receive.cjs'))).size).toBeGreaterThan(0);
    expect((await stat(join(ROOT, 'dist/bin/receive.cache'))).size).toBeGreaterThan(0);
    // ASCII, so read as latin1; and a new process of this Node compiles it from the cache.
    const script = await readFile(join(ROOT, 'dist/bin/receive.cjs'), 'latin1');
    expect(/^[\x00-\x7f]*$/.test(script)).toBe(true);
    expect(wrapped(script)).toBe(script); // written inside the wrapper: compiled as read
    const loader = pathToFileURL(join(ROOT, 'bin/cached-script.js')).href;
    const program = `const { cacheRejected } = await import(${JSON.stringify(loader)});
console.log(cacheRejected(${JSON.stringify(join(ROOT, 'dist/bin/receive.cjs'))}, ${JSON.stringify(join(ROOT, 'dist/bin/receive.cache'))}));`;
    const r = await runCommand(process.execPath, ['--input-type=module', '-e', program]);
    expect([r.code, r.stdout, r.stderr]).toEqual([0, 'false\n', '']);
  });

  it('answers as the sources do: a post, an unknown list, a bad option', async () => {
    const dir = await tempConfig();
    made.push(dir);
    const input = await readFile(post('01-member-post.eml'));
    const sources = { MALIST_FROM_SOURCE: '1' };
    for (const args of [['--list', 'nosuch'], ['--bogus'], ['--help']]) {
      const built = await malist(['receive', '--config', dir, ...args], { input });
      const source = await malist(['receive', '--config', dir, ...args], { input, env: sources });
      expect([built.code, built.stdout, built.stderr]).toEqual([
        source.code,
        source.stdout,
        source.stderr,
      ]);
    }
    const r = await malist(['receive', '--config', dir, '--list', 'red'], { input });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await readFile(join(dir, 'delivery.log'), 'utf8')).toMatch(/outcome=distributed/);
  });

  it('sends a post over plain SMTP without loading node:tls, node:dns or libmime', async () => {
    // Each process pays for every built-in it loads; TLS and DNS only when a post needs them.
    if (!bundled) return; // bin/malist.js runs the sources: build.test.ts says so
    const server = await startSmtpServer();
    try {
      const dir = await tempConfig(plainQueue(server.port));
      made.push(dir);
      const list = join(dir, 'loaded.txt');
      await writeFile(
        join(dir, 'report.cjs'),
        `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(list)}, [...process.moduleLoadList, ...Object.keys(require.cache)].join('\\n')));\n`,
      );
      const input = await readFile(post('01-member-post.eml'));
      const r = await runCommand(
        process.execPath,
        ['-r', join(dir, 'report.cjs'), MALIST, 'receive', '--config', dir, '--list', 'red'],
        { input },
      );
      expect([r.code, r.stderr]).toEqual([0, '']);
      expect(server.accepted.length).toBeGreaterThan(0);
      const loaded = (await readFile(list, 'utf8')).split('\n');
      expect(loaded.filter((m) => /^NativeModule (tls|_tls_wrap|dns)$/.test(m))).toEqual([]);
      // Nor the on-demand packages a plain post never needs (libmime's charsets bring
      // iconv-lite and encoding-japanese: ~75 ms of CPU when the archive's text extraction
      // loaded them at its start), nor mailparser.
      expect(
        loaded.filter((m) =>
          /node_modules\/(libmime|iconv-lite|encoding-japanese|entities|mailparser)\//.test(m),
        ),
      ).toEqual([]);
    } finally {
      await server.stop();
    }
  });

  it('a plain post on files initializes no PostgreSQL store, sending service or archive index', async () => {
    // Each process initializes every module of the script it reaches at its start; these
    // are reached only by import() (config/storage.ts, config/archive.ts, the queue's
    // service transport, the notices to posters and moderators, the signer), so a post on
    // files to a list that has no archive, signs nothing and holds nothing runs none of
    // them. What the process initialized is recorded by esbuild's module wrappers, `__esm`
    // (malist's modules) and `__commonJS` (aws4), in a copy of the script beside it. zod and
    // the YAML package are in a script of their own (receive-deps.cjs), loaded by the first
    // mail (which fills the check cache), not by the next, answered from it.
    if (!bundled) return; // bin/malist.js runs the sources: build.test.ts says so
    const script = await readFile(join(ROOT, 'dist/bin/receive.cjs'), 'latin1');
    const wrappers = [...script.matchAll(/__(?:esm|commonJS)\(\{"([^"]+)"/g)].map((m) => m[1]!);
    const unwanted =
      /^dist\/(config\/(storage-pg|pg-members)|state\/pg[.-]|\w+\/pg-|smtp\/services\/(ses|mailgun|api-transport|http)\.|archive\/(db|search|extract|sync|store)\.|state\/web-credentials|auth\/(arc-seal|dkim-sign)\.|reactors\/notify-)|^node_modules\/aws4\//;
    // Each is in the script behind a wrapper (a static import would run it at the start,
    // unrecorded), and the script still holds every PostgreSQL store and both services.
    for (const m of [
      'dist/config/storage-pg.js',
      'dist/queue/pg-store.js',
      'dist/state/pg-journal.js',
      'dist/archive/pg-store.js',
      'dist/smtp/services/ses.js',
      'dist/smtp/services/mailgun.js',
      'node_modules/aws4/aws4.js',
      'dist/archive/db.js',
      'dist/archive/search.js',
      'dist/auth/arc-seal.js',
      'dist/reactors/notify-poster.js',
    ])
      expect(wrappers, m).toContain(m);
    const esm = 'var __esm=(fn,res,err)=>function(){';
    const cjs = 'var __commonJS=(cb,mod)=>function(){';
    const deps = 'function __malistDeps() {';
    expect(script).toContain(esm);
    expect(script).toContain(cjs);
    expect(script).toContain(deps);
    // Neither package is in the script itself (the build refuses to bundle them there).
    expect(script).not.toMatch(/node_modules\/(zod|yaml)\//);
    const copy = join(ROOT, 'dist/bin', `receive.inits-${process.pid}.cjs`);
    await writeFile(
      copy,
      script
        .replace(esm, `${esm}if(fn)globalThis.__malistInits.push(__getOwnPropNames(fn)[0]);`)
        .replace(cjs, `${cjs}if(!mod)globalThis.__malistInits.push(__getOwnPropNames(cb)[0]);`)
        .replace(
          deps,
          `${deps}if(!__malistDepsLoaded)globalThis.__malistInits.push('receive-deps');`,
        ),
      'latin1',
    );
    const server = await startSmtpServer();
    try {
      const dir = await tempConfig(plainQueue(server.port));
      made.push(dir);
      const list = join(dir, 'inits.json');
      const loader = join(ROOT, 'bin/cached-script.js');
      const program = `globalThis.__malistInits = [];
const { runCached } = require(${JSON.stringify(loader)});
runCached(${JSON.stringify(copy)}, '/nonexistent')
  .main(['receive', '--config', ${JSON.stringify(dir)}, '--list', 'red'])
  .then((code) => {
    require('node:fs').writeFileSync(${JSON.stringify(list)}, JSON.stringify(globalThis.__malistInits));
    process.exitCode = code;
  });`;
      const input = await readFile(post('01-member-post.eml'), 'utf8');
      const env = { MALIST_CACHE_DIR: join(dir, 'check-cache') };
      const first = await runCommand(process.execPath, ['-e', program], { input, env });
      expect([first.code, first.stderr]).toEqual([0, '']);
      const filled: string[] = JSON.parse(await readFile(list, 'utf8'));
      expect(filled).toContain('receive-deps');
      const next = input.replace(/^Message-ID: <[^>]+>/m, 'Message-ID: <next@mail.example.org>');
      const r = await runCommand(process.execPath, ['-e', program], { input: next, env });
      expect([r.code, r.stderr]).toEqual([0, '']);
      expect(server.accepted.length).toBeGreaterThan(0);
      const inits: string[] = JSON.parse(await readFile(list, 'utf8'));
      expect(inits).toContain('dist/distributors/queue.js'); // what a post needs is recorded
      expect(inits.filter((m) => unwanted.test(m))).toEqual([]);
      expect(inits).not.toContain('receive-deps');
    } finally {
      await server.stop();
      await rm(copy, { force: true });
    }
  });

  it('runs a custom unit written in TypeScript from a configuration with no package.json', async () => {
    // tsx takes a `.ts` file's format from the package.json above it: with none (or no
    // "type": "module") the unit, an ES module as malist documents units, was loaded as
    // CommonJS and failed ("Cannot require() ES Module … in a cycle"). Its `.ts` imports too.
    const dir = await tempConfig();
    made.push(dir);
    await writeFile(
      join(dir, 'lists/loud.ts'),
      "export const loud = (text: string): string => text.toUpperCase() + '!';\n",
    );
    await writeFile(
      join(dir, 'lists/shout.ts'),
      "import { loud } from './loud.ts';\n\ninterface Mail {\n  header: { get(name: string): string | undefined; set(name: string, value: string): void };\n}\n\n" +
        "export default () => ({\n  name: 'shout',\n  async process(mail: Mail): Promise<Mail> {\n    mail.header.set('Subject', loud(mail.header.get('Subject') ?? ''));\n    return mail;\n  },\n});\n",
    );
    const red = await readFile(join(dir, 'lists/red.yaml'), 'utf8');
    await writeFile(
      join(dir, 'lists/red.yaml'),
      `${red}pipeline:\n  - type: ./shout.ts\n  - envelope\n`,
    );
    const input = await readFile(post('01-member-post.eml'));
    for (const env of [{}, { MALIST_FROM_SOURCE: '1' }]) {
      await rm(join(dir, 'out'), { recursive: true, force: true });
      await rm(join(dir, 'state'), { recursive: true, force: true });
      const r = await malist(['receive', '--config', dir, '--list', 'red'], { input, env });
      expect([r.code, r.stderr], JSON.stringify(env)).toEqual([0, '']);
      const box = join(dir, 'out', 'alice@example.org', 'new');
      const [file] = await readdir(box);
      expect(await readFile(join(box, file!), 'utf8')).toContain(
        'Subject: MEETING NOTES FOR THURSDAY!',
      );
    }
  });
});
