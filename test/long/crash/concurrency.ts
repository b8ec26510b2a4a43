/**
 * Concurrency: many `malist run`, `malist queue run` and `malist receive` processes at
 * once on one configuration and one state directory, some of them SIGKILLed at random,
 * then one last quiet run; every post must reach every member exactly once (counted at
 * the SMTP test server), and the held post must be held once.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  listPost,
  MALIST,
  malist,
  type Ran,
  RED_MEMBERS,
  ROOT,
  writeConfig,
} from '../../helpers/crash-config.ts';
import type { TestSmtpServer } from '../../helpers/smtp-server.ts';
import { prng, type Tally, tally } from './harness.ts';
import { noteInDoubt } from './scenarios.ts';

export interface ConcurrencyPlan {
  /** Posts waiting in the inbox for `malist run`. */
  inboxPosts: number;
  /** Posts handed to `malist receive`, each by its own process. */
  receivedPosts: number;
  /** Of those, how many are handed over twice at the same time (an MTA retrying). */
  twice: number;
  /** `malist run` processes. */
  runs: number;
  /** `malist queue run` processes. */
  queueRuns: number;
  /** Processes SIGKILLed at a random moment (chosen among all). */
  kills: number;
  seed: number;
}

export interface ConcurrencyResult {
  processes: number;
  killed: number;
  exits: Record<string, number>;
  tally: Tally;
  ms: number;
  problems: string[];
}

/**
 * `malist queue run` — through the command's own module when `queue` is not (yet) in the
 * `malist` dispatcher table, so the real runner code is what runs either way.
 */
async function queueRunArgs(): Promise<string[]> {
  const help = await malist(['queue', '--help'], { timeoutMs: 30_000 });
  if (help.code === 0) return [MALIST, 'queue', 'run'];
  const mod = join(ROOT, 'src', 'cli', 'queue.ts');
  return [
    '--import',
    'tsx',
    '--input-type=module',
    '-e',
    `const m = await import(${JSON.stringify(mod)}); process.exitCode = await m.default(process.argv.slice(1));`,
    'run',
  ];
}

interface Job {
  label: string;
  args: string[];
  input?: Buffer;
  killAfterMs?: number;
}

/**
 * Runs `job`; `afterKill`, when it is SIGKILLed, runs before the promise resolves (while the
 * other processes go on).
 */
function start(
  job: Job,
  dir: string,
  afterKill?: () => Promise<void>,
): Promise<Ran & { label: string; killed: boolean }> {
  const started = performance.now();
  return new Promise((done) => {
    const child = spawn(process.execPath, [...job.args, '--config', dir], {
      cwd: ROOT,
      env: { ...process.env, MALIST_CRASH_AT: '', ORIGINAL_RECIPIENT: '', RECIPIENT: '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    const killer =
      job.killAfterMs !== undefined
        ? setTimeout(() => {
            killed = true;
            child.kill('SIGKILL');
          }, job.killAfterMs)
        : undefined;
    child.on('close', async (code, signal) => {
      clearTimeout(timer);
      if (killer) clearTimeout(killer);
      if (killed && signal === 'SIGKILL') await afterKill?.();
      done({
        label: job.label,
        code,
        signal,
        stdout,
        stderr,
        ms: performance.now() - started,
        killed: killed && signal === 'SIGKILL',
      });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(job.input ?? '');
  });
}

async function heldIds(dir: string): Promise<string[]> {
  const held = join(dir, 'state', 'held', 'red');
  const out: string[] = [];
  for (const name of (await readdir(held).catch(() => [] as string[])).filter((n) =>
    n.endsWith('.json'),
  )) {
    const meta = JSON.parse(await readFile(join(held, name), 'utf8')) as { messageId?: string };
    out.push(`${meta.messageId} -> held`);
  }
  return out;
}

/** Runs the plan against `server`; the config and state live in a temp dir removed after. */
export async function runConcurrency(
  server: TestSmtpServer,
  plan: ConcurrencyPlan,
): Promise<ConcurrencyResult> {
  const started = performance.now();
  const random = prng(plan.seed);
  const id = `conc-${plan.seed}-${Date.now().toString(36)}`;
  const dir = await writeConfig({ smtpPort: server.port });
  const expected: string[] = [];
  const problems: string[] = [];
  try {
    for (let i = 0; i < plan.inboxPosts; i++) {
      const mid = `${id}.in${i}@conc.test`;
      await writeFile(
        join(dir, 'inbox', 'new', `${1_700_000_000 + i}.${id}in${i}.host`),
        listPost({ id: mid, from: RED_MEMBERS[i % RED_MEMBERS.length] }),
      );
      for (const m of RED_MEMBERS) expected.push(`${mid} -> ${m}`);
    }
    const jobs: Job[] = [];
    for (let i = 0; i < plan.receivedPosts; i++) {
      // The last one is a non-member's: held once, delivered to nobody.
      const stranger = i === plan.receivedPosts - 1;
      const mid = `${id}.rx${i}@conc.test`;
      const input = listPost({
        id: mid,
        from: stranger ? 'mallory@elsewhere.example' : RED_MEMBERS[i % RED_MEMBERS.length],
      });
      if (stranger) expected.push(`${mid} -> held`);
      else for (const m of RED_MEMBERS) expected.push(`${mid} -> ${m}`);
      const copies = i < plan.twice ? 2 : 1;
      for (let c = 0; c < copies; c++)
        jobs.push({ label: 'receive', args: [MALIST, 'receive', '--list', 'red'], input });
    }
    const queueArgs = await queueRunArgs();
    for (let i = 0; i < plan.runs; i++) jobs.push({ label: 'run', args: [MALIST, 'run'] });
    for (let i = 0; i < plan.queueRuns; i++) jobs.push({ label: 'queue run', args: queueArgs });
    // Shuffle (seeded), then pick the victims.
    for (let i = jobs.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [jobs[i], jobs[j]] = [jobs[j]!, jobs[i]!];
    }
    for (let k = 0; k < Math.min(plan.kills, jobs.length); k++) {
      jobs[Math.floor(random() * jobs.length)]!.killAfterMs = 400 + random() * 2500;
    }
    // RFC 1047's window (RELIABILITY.md): a sender killed after the server's 250 and before
    // its sent-log holds it leaves that pair to be sent again, by design. Right after each
    // kill (the server given time to read what the dead client sent), a pair the server has
    // and no spool records may come once more: one extra copy of it is counted as in doubt,
    // not as duplicated, as the crash suite counts it. Any other extra copy is duplicated.
    const accepted = () =>
      server.accepted
        .filter((m) => m.messageId.startsWith(`${id}.`))
        .flatMap((m) => m.to.map((r) => `${m.messageId} -> ${r.toLowerCase()}`));
    const excused = new Map<string, number>();
    const afterKill = () => noteInDoubt(join(dir, 'spool'), accepted, excused);
    const results = await Promise.all(jobs.map((job) => start(job, dir, afterKill)));
    const exits: Record<string, number> = {};
    for (const r of results) {
      const key = `${r.label} ${r.killed ? 'SIGKILL' : `exit ${r.code}`}`;
      exits[key] = (exits[key] ?? 0) + 1;
      // What an MTA does with a 75 (or a hook it lost to a crash): it gives the mail again.
      if (r.label === 'receive' && (r.killed || r.code === 75)) {
        const job = jobs[results.indexOf(r)]!;
        const again = await start({ ...job, killAfterMs: undefined }, dir);
        if (again.code !== 0)
          problems.push(`receive given again exited ${again.code}: ${again.stderr.slice(0, 200)}`);
      } else if (!r.killed && r.code !== 0) {
        problems.push(`${r.label} exited ${r.code}: ${r.stderr.trim().slice(0, 300)}`);
      }
    }
    // The next cron run finishes what killed runners left (stale claims, inbox).
    const last = await start({ label: 'run', args: [MALIST, 'run'] }, dir);
    if (last.code !== 0)
      problems.push(`the last run exited ${last.code}: ${last.stderr.slice(0, 300)}`);
    const received = accepted();
    received.push(...(await heldIds(dir)));
    const left =
      (await readdir(join(dir, 'inbox', 'new'))).length +
      (await readdir(join(dir, 'inbox', 'cur'))).length +
      (await readdir(join(dir, 'spool', 'new')).catch(() => [])).length +
      (await readdir(join(dir, 'spool', 'cur')).catch(() => [])).length;
    const t = tally(expected, received, left, excused);
    problems.push(...t.examples);
    if (t.left) problems.push(`${t.left} left in the inbox or the queue`);
    return {
      processes: jobs.length + 1,
      killed: results.filter((r) => r.killed).length,
      exits,
      tally: t,
      ms: performance.now() - started,
      problems,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatConcurrency(r: ConcurrencyResult, title: string): string {
  return [
    title,
    `  ${r.processes} processes (${Object.entries(r.exits)
      .map(([k, n]) => `${n}× ${k}`)
      .join(', ')}), ${r.killed} SIGKILLed`,
    `  ${r.tally.expected} (post, recipient) pairs: ${r.tally.received} delivered or held, ${r.tally.lost} lost, ${r.tally.duplicated} duplicated, ${r.tally.inDoubt} re-sent in RFC 1047's window, ${r.tally.unexpected} unexpected, ${r.tally.left} left; ${(r.ms / 1000).toFixed(1)} s`,
  ].join('\n');
}
