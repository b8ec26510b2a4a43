/**
 * Issue 17's rows, in a child of bench/run.ts: `node --import tsx bench/intake.ts SINKPORT
 * WORKDIR [MAILS]`. Prints one JSON line (IntakeCaseOutput).
 *
 * - `malist receive` per mail: a 5 KB post to a 10-member list (open posting, the default
 *   pipeline, the durable queue sending to the sink), each a new process of the compiled
 *   build (`bin/malist.js` runs receive's bundle, dist/bin/receive.cjs, built first when
 *   stale), 25 times, interleaved with `node -e 0` 25 times (the same rounds). As an
 *   installed malist runs: MALIST_FROM_BUILD=1, for this checkout's build has just been made
 *   current; and 25 times
 *   as a checkout runs it, with bin/malist.js's walk over src/ (`checkout`). Wall is the
 *   spawn to exit; CPU and peak RSS are the child's own (process.resourceUsage() at its
 *   exit, through a preloaded reporter). And 25 times on a site of 50 lists (`site`), routed by
 *   `--recipient` as Postfix's pipe does. And a bounce to a list of 10,000 members, 7 times with
 *   the members in the list's YAML and 7 times in a members file (`inline`, `filed`).
 *   receive keeps each file's checked configuration in its check cache (src/config/check-
 *   cache.ts), here a directory of WORKDIR: the first mail of each case fills it, the rest are
 *   answered from it, as every mail but the first after an edit is. And 25 times with no cache
 *   (`cold`, MALIST_CACHE_DIR=none): what the first mail after an edit costs.
 * - The LMTP intake: `malist lmtp` (compiled) on a free port, MAILS (1,000) such posts over
 *   4 LMTP connections (nodemailer, as an MTA's few lmtp processes), each one transaction,
 *   from the first send to the last reply; the server's CPU from /proc.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTransport } from 'nodemailer';
import { makeMembers, makePost, POSTER } from './post.ts';

export interface Sample {
  wallMs: number;
  cpuMs: number;
  maxRssKb: number;
}

export interface IntakeCaseOutput {
  receive: Sample[];
  /**
   * The same post, on a site of 50 lists (the bench list and 49 more), routed as Postfix's
   * pipe does (`--recipient`): receive reads only the lists the address could be.
   */
  site: Sample[];
  /** A bounce to a list of 10,000 members written in its YAML. */
  inline: Sample[];
  /** The same, the 10,000 members in a members file. */
  filed: Sample[];
  /** The same, run as a checkout runs it: bin/malist.js first checks that dist/ is current. */
  checkout: Sample[];
  /** The same post with no check cache: parsed and checked from the files, as after an edit. */
  cold: Sample[];
  node: Sample[];
  lmtp: { mails: number; wallMs: number; cpuMs?: number; connections: number; maxRssKb?: number };
}

const root = fileURLToPath(new URL('..', import.meta.url));
const MALIST = join(root, 'bin/malist.js');

/** Preloaded into each measured child: its own CPU and peak RSS, written at exit. */
const REPORTER = `process.on('exit', () => { const u = process.resourceUsage();
require('node:fs').writeFileSync(process.env.MALIST_BENCH_USAGE, JSON.stringify({ cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000, maxRssKb: u.maxRSS })); });`;

/** malist.yaml: the durable queue sending to the sink on `sinkPort`, and `more` after it. */
function mainYaml(sinkPort: number, more = ''): string {
  return `state_dir: state\ndistribute:\n  type: queue\n  server: sink\nservers:\n  sink:\n    host: 127.0.0.1\n    port: ${sinkPort}\n    tls: none\nqueue:\n  dir: spool\n${more}`;
}

/** An open list at `address` with `members` written in its file. */
function listYaml(address: string, members: string[]): string {
  return `address: ${address}\nposting: open\nmembers:\n${members.map((m) => `  - ${m}\n`).join('')}`;
}

/** The configuration: the bench list, and `others` more lists of 10 members beside it. */
async function configDir(work: string, sinkPort: number, others = 0): Promise<string> {
  const dir = join(work, others ? 'site-config' : 'intake-config');
  await mkdir(join(dir, 'lists'), { recursive: true });
  for (let i = 0; i < others; i++)
    await writeFile(
      join(dir, 'lists', `team${i}.yaml`),
      listYaml(`team${i}@list.example.test`, makeMembers(10)),
    );
  await writeFile(join(dir, 'malist.yaml'), mainYaml(sinkPort));
  await writeFile(
    join(dir, 'lists', 'bench.yaml'),
    listYaml('bench@list.example.test', makeMembers(10)),
  );
  return dir;
}

/**
 * Two lists of 10,000 members: `inline` writes them in its YAML, `filed` in a members file.
 * No reactor: the bounces they get are discarded, and nothing is logged for each.
 */
async function bigListsDir(work: string, sinkPort: number): Promise<string> {
  const dir = join(work, 'big-config');
  await mkdir(join(dir, 'lists'), { recursive: true });
  await writeFile(join(dir, 'malist.yaml'), mainYaml(sinkPort, 'reactors: []\n'));
  const members = makeMembers(10_000);
  await writeFile(join(dir, 'lists', 'inline.yaml'), listYaml('inline@list.example.test', members));
  await writeFile(
    join(dir, 'lists', 'filed.yaml'),
    'address: filed@list.example.test\nposting: open\nmembers_file: filed.members\n',
  );
  await writeFile(join(dir, 'lists', 'filed.members'), members.map((m) => `${m}\n`).join(''));
  return dir;
}

/** A bounce to `list`'s VERP address for its member m5 (no cookie: read, then discarded). */
function bounceArgs(dir: string, list: string): string[] {
  const to = `${list}-bounces+m5=example.test@list.example.test`;
  return [MALIST, 'receive', '--config', dir, '--recipient', to, '--sender', ''];
}

const BOUNCE = Buffer.from(
  'From: MAILER-DAEMON@example.test\nTo: m5@example.test\nSubject: Undelivered Mail Returned to Sender\nMessage-ID: <bounce@example.test>\n\nfailed\n',
);

async function measured(
  args: string[],
  input: Buffer | undefined,
  usage: string,
  env: NodeJS.ProcessEnv = {},
): Promise<Sample> {
  const started = performance.now();
  const code = await new Promise<number | null>((resolve, reject) => {
    const proc = spawn(process.execPath, ['-r', join(usage, '..', 'reporter.cjs'), ...args], {
      cwd: root,
      env: { ...process.env, ...env, MALIST_BENCH_USAGE: usage },
      stdio: ['pipe', 'ignore', 'inherit'],
    });
    proc.on('error', reject);
    proc.on('close', resolve);
    proc.stdin.end(input ?? '');
  });
  const wallMs = performance.now() - started;
  if (code !== 0) throw new Error(`${args.join(' ')} exited ${code}`);
  const { cpuMs, maxRssKb } = JSON.parse(await readFile(usage, 'utf8'));
  return { wallMs, cpuMs, maxRssKb };
}

/** utime + stime of a process, ms (Linux /proc), or undefined. */
async function procCpuMs(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (!stat) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

async function lmtpCase(dir: string, mails: number): Promise<IntakeCaseOutput['lmtp']> {
  const server = spawn(
    process.execPath,
    [MALIST, 'lmtp', '--config', dir, '--listen', '127.0.0.1:0'],
    {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let err = '';
    server.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(err);
      if (m) resolve(Number(m[1]));
    });
    server.on('exit', (code) => reject(new Error(`malist lmtp exited ${code}: ${err}`)));
  });
  const connections = 4;
  const clients = Array.from({ length: connections }, () =>
    createTransport({ lmtp: true, host: '127.0.0.1', port, ignoreTLS: true }),
  );
  const cpuBefore = await procCpuMs(server.pid!);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    clients.map(async (client) => {
      while (next < mails) {
        const i = next++;
        const info = await client.sendMail({
          envelope: { from: POSTER, to: ['bench@list.example.test'] },
          raw: makePost(5 * 1024, `lmtp-${i}-${started}`),
        });
        if (info.accepted.length !== 1) throw new Error(`mail ${i}: ${info.response}`);
      }
    }),
  );
  const wallMs = performance.now() - started;
  const cpuAfter = await procCpuMs(server.pid!);
  const status = await readFile(`/proc/${server.pid}/status`, 'utf8').catch(() => '');
  const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
  for (const c of clients) c.close();
  server.kill('SIGTERM');
  await new Promise((resolve) => server.on('exit', resolve));
  return {
    mails,
    wallMs,
    connections,
    ...(cpuBefore !== undefined && cpuAfter !== undefined ? { cpuMs: cpuAfter - cpuBefore } : {}),
    ...(hwm ? { maxRssKb: Number(hwm[1]) } : {}),
  };
}

const [sinkPort, work, mailsArg] = process.argv.slice(2);
// The compiled build, as an installed malist runs (bin/malist.js takes dist/ when current).
spawnSync(process.execPath, [join(root, 'scripts/build.js'), '--if-stale'], {
  cwd: root,
  stdio: 'inherit',
});
await mkdir(work!, { recursive: true });
const dir = await configDir(work!, Number(sinkPort));
await writeFile(join(work!, 'reporter.cjs'), REPORTER);
const usage = join(work!, 'usage.json');
const receive: Sample[] = [];
const checkout: Sample[] = [];
const cold: Sample[] = [];
const node: Sample[] = [];
const site: Sample[] = [];
const args = [MALIST, 'receive', '--config', dir, '--list', 'bench'];
const siteDir = await configDir(work!, Number(sinkPort), 49);
const siteArgs = [MALIST, 'receive', '--config', siteDir, '--recipient', 'bench@list.example.test'];
// The check cache of these runs, filled by each case's first mail; `cold` keeps none.
const built = { MALIST_FROM_BUILD: '1', MALIST_CACHE_DIR: join(work!, 'check-cache') };
for (let i = 0; i < 25; i++) {
  const post = (kind: string) => makePost(5 * 1024, `${kind}-${i}-${Date.now()}`);
  receive.push(await measured(args, post('receive'), usage, built));
  node.push(await measured(['-e', '0'], undefined, usage));
  checkout.push(await measured(args, post('checkout'), usage, { ...built, MALIST_FROM_BUILD: '' }));
  site.push(await measured(siteArgs, post('site'), usage, built));
  cold.push(
    await measured(args, post('cold'), usage, { MALIST_FROM_BUILD: '1', MALIST_CACHE_DIR: 'none' }),
  );
}
const bigDir = await bigListsDir(work!, Number(sinkPort));
const inline: Sample[] = [];
const filed: Sample[] = [];
for (let i = 0; i < 7; i++) {
  inline.push(await measured(bounceArgs(bigDir, 'inline'), BOUNCE, usage, built));
  filed.push(await measured(bounceArgs(bigDir, 'filed'), BOUNCE, usage, built));
}
const lmtp = await lmtpCase(dir, Number(mailsArg ?? 1000));
process.stdout.write(
  `${JSON.stringify({ receive, site, inline, filed, checkout, cold, node, lmtp } satisfies IntakeCaseOutput)}\n`,
);
