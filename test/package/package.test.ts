/**
 * `npm run test:package`: malist as a user gets it. The package is packed (`npm pack`) and
 * the tarball installed into a new project (dependencies from the npm cache, else the
 * registry), without tsx; then plain Node imports it and runs a one-mail `play()`, a
 * TypeScript project (NodeNext, `skipLibCheck: false`) type-checks a program against its
 * declarations, and the installed `malist` command answers --version, checks the shipped
 * lists, receives a mail and renders its manual page. Not part of `npm test`: packing and
 * installing take minutes and the npm cache; `.ci/run` runs it.
 */
import { spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCommand } from '../cli/run-malist.ts';

interface Packed {
  filename: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: { path: string }[];
}

/** What a user must never get: tests, benchmarks, CI, build scripts, sources, secrets. */
const NOT_SHIPPED = [
  /^(test|tests|bench|\.ci|scripts|src|var|coverage)\//,
  /\.test\.[cm]?[jt]s$/,
  /^(tsconfig.*\.json|vitest.*\.ts|biome\.json|\.gitignore|package-lock\.json)$/,
  /^examples\/secrets\//,
  /(^|\/)\.built$/,
];

const SHIPPED = [
  'package.json',
  'README.md',
  'LICENSE',
  'CHANGELOG.md',
  'bin/malist.js',
  'bin/cached-script.js',
  'bin/package.json',
  'dist/index.js',
  'dist/index.d.ts',
  'dist/index.js.map',
  'dist/cli/main.js',
  'dist/bin/main.js',
  'dist/bin/signer-worker.js',
  'dist/bin/receive.cjs',
  'dist/bin/receive.cache',
  'dist/bin/receive-deps.cjs',
  'dist/bin/receive-deps.cache',
  'dist/malist.1',
  'lists/red.yaml',
  'examples/malist.yaml',
  'examples/systemd/malist-watch.service',
];

/** The environment of a child npm: none of the `npm run` that started this test. */
function npmEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^npm_(package|lifecycle)_|^npm_config_local_prefix$|^INIT_CWD$/.test(key)) delete env[key];
  }
  return env;
}

async function npm(args: string[], cwd: string): Promise<string> {
  // Installing the tarball compiles better-sqlite3 from its sources (no prebuilt binary is
  // reachable): minutes on a loaded 2-core machine. A bound for a hung npm, not a speed.
  const r = await runCommand('npm', args, { cwd, env: npmEnv(), timeoutMs: 1_500_000 });
  if (r.code !== 0) throw new Error(`npm ${args.join(' ')} exited ${r.code}:\n${r.stderr}`);
  return r.stdout;
}

/** The version of a dev dependency installed here, so the npm cache has it. */
async function installedVersion(name: string): Promise<string> {
  const pkg = JSON.parse(await readFile(join(ROOT, 'node_modules', name, 'package.json'), 'utf8'));
  return `${name}@${(pkg as { version: string }).version}`;
}

let project: string;
let packed: Packed;
const malistBin = () => join(project, 'node_modules/.bin/malist');

beforeAll(async () => {
  const build = spawnSync(process.execPath, ['scripts/build.js', '--if-stale'], { cwd: ROOT });
  if (build.status !== 0) throw new Error(`build failed:\n${build.stderr}`);
  project = await mkdtemp(join(tmpdir(), 'malist-package-'));
  packed = (
    JSON.parse(
      await npm(['pack', '--json', '--ignore-scripts', '--pack-destination', project], ROOT),
    ) as [Packed]
  )[0];
  process.stdout.write(
    `npm pack: ${packed.filename} ${packed.size} bytes, ${packed.unpackedSize} unpacked, ${packed.entryCount} files\n`,
  );
  await writeFile(
    join(project, 'package.json'),
    `${JSON.stringify({ name: 'consumer', private: true, type: 'module' })}\n`,
  );
  await npm(
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      `./${packed.filename}`,
      await installedVersion('typescript'),
      await installedVersion('@types/node'),
    ],
    project,
  );
}, 1_700_000);

describe('the tarball', () => {
  it('npm pack --dry-run lists no test, bench, CI, build or secret file', async () => {
    const [dry] = JSON.parse(await npm(['pack', '--dry-run', '--json', '--ignore-scripts'], ROOT));
    const paths = (dry as Packed).files.map((f) => f.path);
    expect(paths.filter((p) => NOT_SHIPPED.some((re) => re.test(p)))).toEqual([]);
    for (const path of SHIPPED) expect(paths, path).toContain(path);
    expect(paths.sort()).toEqual(packed.files.map((f) => f.path).sort());
  });

  it('installs without tsx (an optional peer) and without sources', async () => {
    const modules = await readdir(join(project, 'node_modules'));
    expect(modules).toContain('malist');
    expect(modules).not.toContain('tsx');
    expect(await readdir(join(project, 'node_modules/malist'))).not.toContain('src');
  });
});

describe('the installed package', () => {
  it('plain Node imports play and createMailer and runs a one-mail play() on maildirs', async () => {
    await mkdir(join(project, 'in/new'), { recursive: true });
    await cp(join(ROOT, 'examples/posts/01-member-post.eml'), join(project, 'in/new/1.eml'));
    await writeFile(
      join(project, 'one.mjs'),
      `import { createMailer, createMaildirDistributor, createMaildirFetcher, createSingleList, play } from 'malist';
const summary = await play({
  fetcher: createMaildirFetcher({ dir: 'in' }),
  processor: createSingleList({ name: 'red', address: 'red@list.example.com', members: ['alice@example.org', 'bob@example.net'] }),
  distributor: createMaildirDistributor({ dir: 'out' }),
  stateDir: 'state',
});
// Spooled only: deliver_now false, so no server is needed.
const mailer = createMailer({ queue: { dir: 'spool', deliver_now: false }, smtp: { host: '127.0.0.1', port: 9 } });
const sent = await mailer.send({ from: 'app@example.org', to: 'carol@example.org', subject: 'Hi', text: 'Hello' });
await mailer.close();
console.log(JSON.stringify({ fetched: summary.fetched, distributed: summary.distributed, recipients: summary.recipients, sent: sent.results.map((r) => r.status) }));
`,
    );
    const r = await runCommand(process.execPath, ['one.mjs'], { cwd: project, timeoutMs: 120_000 });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      fetched: 1,
      distributed: 1,
      recipients: 2,
      sent: ['queued'],
    });
    expect((await readdir(join(project, 'out'))).sort()).toEqual([
      'alice@example.org',
      'bob@example.net',
    ]);
  });

  it('type-checks a TypeScript program and the README examples against it (NodeNext, skipLibCheck false)', async () => {
    await writeFile(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          types: ['node'],
        },
        include: ['program.ts', 'readme-*.ts'],
      }),
    );
    // The README's TypeScript examples, each a module of its own: they must stay true.
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    for (const [i, block] of blocks.entries())
      await writeFile(join(project, `readme-${i}.ts`), `${block}export {};\n`);
    await writeFile(
      join(project, 'program.ts'),
      `import {
  createMailer, createMaildirDistributor, createMaildirFetcher, createSingleList, createStderrLogger,
  type ListMail, type ListSettings, loadConfig, type MailerOptions, play, type PlaySummary,
  type Processor, Reject, type SendResult,
} from 'malist';

/** A custom pipeline unit, as examples/units does it. */
export default function createTag(list: ListSettings): Processor {
  return {
    name: 'tag',
    async process(mail: ListMail): Promise<ListMail> {
      if (!mail.header.get('From')) throw new Reject('no From');
      mail.header.set('X-List-Tag', list.name);
      return mail;
    },
  };
}

const summary: PlaySummary = await play({
  fetcher: createMaildirFetcher({ dir: 'in' }),
  processor: createSingleList({ name: 'red', address: 'red@list.example.com', members: [] }),
  distributor: createMaildirDistributor({ dir: 'out' }),
  reactor: createStderrLogger(),
  stateDir: 'state',
});
const options: MailerOptions = { queue: { dir: 'spool' }, smtp: { host: '127.0.0.1' } };
const result: SendResult = await createMailer(options).send(Buffer.from('From: a@example.org\\r\\n\\r\\nx'));
const config = await loadConfig({ dir: '.' });
console.log(summary.distributed, result.id, config.problems.length);
`,
    );
    const tsc = join(project, 'node_modules/typescript/bin/tsc');
    const r = await runCommand(process.execPath, [tsc, '-p', '.'], {
      cwd: project,
      timeoutMs: 600_000,
    });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('malist --version and --help', async () => {
    const version = await runCommand(malistBin(), ['--version'], { cwd: project });
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
    expect(version.stdout).toBe(`malist ${(pkg as { version: string }).version}\n`);
    const help = await runCommand(malistBin(), ['--help'], { cwd: project });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: malist <command>/);
  });

  it('malist check validates the shipped lists', async () => {
    const r = await runCommand(malistBin(), ['check', '--config', 'node_modules/malist'], {
      cwd: project,
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('ok: 3 lists, no problems');
    expect(r.code).toBe(0);
  });

  it('malist receive distributes a post with the shipped lists', async () => {
    const config = join(project, 'config');
    await cp(join(project, 'node_modules/malist/lists'), join(config, 'lists'), {
      recursive: true,
    });
    await writeFile(
      join(config, 'malist.yaml'),
      'state_dir: state\ndistribute:\n  type: maildir\n  dir: out\nreactors: [stderr-logger]\n',
    );
    const r = await runCommand(malistBin(), ['receive', '--config', config, '--list', 'red'], {
      cwd: project,
      input: await readFile(join(project, 'node_modules/malist/examples/posts/01-member-post.eml')),
    });
    expect(r.code, r.stderr).toBe(0);
    expect((await readdir(join(config, 'out'))).sort()).toEqual([
      'alice@example.org',
      'archive@list.example.com',
      'bob@example.net',
      'carol@example.org',
    ]);
  });

  it("a custom unit's Reject from the package is a reject to the bundled command", async () => {
    // The command runs its bundle (dist/bin/, its own copy of the error classes); the unit
    // imports the package's dist/index.js. A reject must not become a crash (quarantine).
    const config = join(project, 'refusing');
    await mkdir(join(config, 'lists'), { recursive: true });
    await writeFile(
      join(config, 'lists/refuse.mjs'),
      "import { Reject } from 'malist';\nexport default () => ({ name: 'refuse', async process() { throw new Reject('no posts today'); } });\n",
    );
    await writeFile(
      join(config, 'lists/red.yaml'),
      'address: red@list.example.com\nmembers: [alice@example.org]\npipeline:\n  - type: ./refuse.mjs\n  - envelope\n',
    );
    await writeFile(
      join(config, 'malist.yaml'),
      'state_dir: state\ndistribute:\n  type: maildir\n  dir: out\nreactors: [stderr-logger]\n',
    );
    const r = await runCommand(malistBin(), ['receive', '--config', config, '--list', 'red'], {
      cwd: project,
      input: await readFile(join(project, 'node_modules/malist/examples/posts/01-member-post.eml')),
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/processor\/refuse reject .*: reject: no posts today/);
    expect(r.stderr).not.toContain('quarantined');
  });

  it('says that a unit written in TypeScript needs tsx, and how to get it', async () => {
    const config = join(project, 'custom');
    await mkdir(join(config, 'lists'), { recursive: true });
    await writeFile(
      join(config, 'lists/shout.ts'),
      'export default () => ({ name: "shout", async process(mail: unknown) { return mail; } });\n',
    );
    await writeFile(
      join(config, 'lists/red.yaml'),
      'address: red@list.example.com\nmembers: [a@example.org]\npipeline:\n  - type: ./shout.ts\n  - envelope\n',
    );
    const r = await runCommand(malistBin(), ['check', '--config', config], { cwd: project });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('a unit written in TypeScript needs tsx, which is not installed');
    expect(r.stderr).toContain('npm install tsx');
  });

  it('ships a manual page that man renders', async () => {
    const man = spawnSync('man', ['--version']);
    if (man.error) {
      if (process.env.CI === 'true') throw new Error('man is not installed');
      process.stderr.write('\n!!! man not installed: the manual page is not rendered !!!\n');
      return;
    }
    const page = join(project, 'node_modules/malist/dist/malist.1');
    const r = await runCommand('man', ['--warnings', '-l', page], {
      env: { MANPAGER: 'cat', MANWIDTH: '80' },
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/MALIST\(1\)/);
    expect(r.stdout).toContain('receive');
  });
});
