/**
 * Issue 17's membership row, in its own process: `malist members sync` as an operator runs
 * it (bin/malist.js, a new process each time) on a list of 10,000 members against a
 * 10,000-line file that adds 100, removes 100 and changes 100 (names, digest) — once with
 * the members inline in the list's YAML, once in a `members_file` (one a line). Wall time
 * of the whole command (config loaded, file read, diff, one atomic write), best and median
 * of 3, each run on a fresh copy; and the same diff without a change (`--dry-run`).
 * Prints one JSON line.
 *
 *   node --import tsx bench/members-sync.ts     (or `npm run bench -- --members`)
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

export interface MembersSyncOutput {
  members: number;
  /** CPU of `members sync --dry-run` of a 100-member list: what starting malist costs. */
  baselineCpuMs: number;
  /** The 1-minute load average when the runs began, and the cores. */
  load: number;
  cores: number;
  rows: Array<{
    store: string;
    dryRun: boolean;
    bestMs: number;
    medianMs: number;
    cpuMedianMs: number;
    diff: string;
  }>;
}

const N = 10_000;
const root = join(import.meta.dirname, '..');
const address = (i: number) => `member${i}@example${i % 97}.org`;

async function config(store: 'yaml' | 'text-file', n = N): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'malist-bench-members-'));
  await mkdir(join(dir, 'lists'));
  await writeFile(
    join(dir, 'malist.yaml'),
    'state_dir: state\ndistribute:\n  type: maildir\n  dir: out\n',
  );
  const members = Array.from({ length: n }, (_, i) => address(i));
  const head = '# a big list\naddress: big@list.example.com\nposting: members\n';
  if (store === 'yaml')
    await writeFile(
      join(dir, 'lists', 'big.yaml'),
      `${head}members:\n${members.map((m) => `  - ${m}\n`).join('')}`,
    );
  else {
    await writeFile(join(dir, 'lists', 'big.yaml'), `${head}members_file: big.members\n`);
    await writeFile(join(dir, 'lists', 'big.members'), members.map((m) => `${m}\n`).join(''));
  }
  // The roster: the first 100 gone, 100 new at the end, 100 with a name and digest.
  const roster = [
    'address,name,digest',
    ...members.slice(n / 100).map((m, i) => (i < n / 100 ? `${m},Member ${i},yes` : `${m},,`)),
    ...Array.from({ length: n / 100 }, (_, i) => `${address(n + i)},,`),
  ];
  await writeFile(join(dir, 'roster.csv'), `${roster.join('\n')}\n`);
  return dir;
}

/** One command: its wall time, and its CPU time (user + system, from time(1)) which load does not inflate. */
function run(dir: string, dryRun: boolean): { ms: number; cpuMs: number; summary: string } {
  const started = performance.now();
  const out = spawnSync(
    '/usr/bin/time',
    [
      '-f',
      'cpu %U %S',
      process.execPath,
      join(root, 'bin/malist.js'),
      'members',
      'sync',
      'big',
      '--file',
      'roster.csv',
      '--config',
      '.',
      ...(dryRun ? ['--dry-run'] : []),
    ],
    { cwd: dir, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  const ms = performance.now() - started;
  if (out.status !== 0) throw new Error(`members sync exited ${out.status}: ${out.stderr}`);
  const cpu = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(out.stderr);
  const cpuMs = cpu ? (Number(cpu[1]) + Number(cpu[2])) * 1000 : Number.NaN;
  return { ms, cpuMs, summary: out.stdout.trim().split('\n').pop() ?? '' };
}

const rows: MembersSyncOutput['rows'] = [];
// The same command on a list of 100 against 100 lines: the cost of starting up.
const small = await config('yaml', 100);
const baseline = [0, 1, 2].map(() => run(small, true).cpuMs).sort((a, b) => a - b)[1]!;
await rm(small, { recursive: true, force: true });
const load = loadavg()[0]!;
for (const store of ['text-file', 'yaml'] as const)
  for (const dryRun of [true, false]) {
    const times: number[] = [];
    const cpu: number[] = [];
    let diff = '';
    for (let k = 0; k < 3; k++) {
      const dir = await config(store);
      const got = run(dir, dryRun);
      times.push(got.ms);
      cpu.push(got.cpuMs);
      diff = got.summary;
      await rm(dir, { recursive: true, force: true });
    }
    times.sort((a, b) => a - b);
    cpu.sort((a, b) => a - b);
    rows.push({
      store,
      dryRun,
      bestMs: times[0]!,
      medianMs: times[1]!,
      cpuMedianMs: cpu[1]!,
      diff,
    });
  }
process.stdout.write(
  `${JSON.stringify({ members: N, baselineCpuMs: baseline, load, cores: cpus().length, rows } satisfies MembersSyncOutput)}\n`,
);
