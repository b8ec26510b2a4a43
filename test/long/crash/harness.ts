/**
 * The crash harness: kills a scenario's child process at every named crash point (each
 * time the point is reached: `MALIST_CRASH_AT=point:N`, N = 1, 2, … until the child no
 * longer reaches it) and at random moments (SIGKILL after a random delay), runs it again
 * until it finishes, and counts at the receiving side, per (post, recipient), what was
 * lost and what arrived twice.
 *
 * A scenario is a child process wired from a source to a counting receiver; see
 * `scenarios.ts`. The harness only spawns, kills, re-runs and counts.
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { prng } from '../../helpers/prng.ts';

export { prng };

export const REPO = resolve(import.meta.dirname, '..', '..', '..');

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** True when the harness killed it (random-kill mode or timeout), not the crash point. */
  killedByHarness: boolean;
  timedOut: boolean;
}

export interface ChildOptions {
  env?: Record<string, string>;
  /** Hard limit; the child is SIGKILLed and the result marked `timedOut`. @default 60000 */
  timeoutMs?: number;
  /** SIGKILL the child after this many ms (random-kill mode). */
  killAfterMs?: number;
  cwd?: string;
  /** Standard input for the child (e.g. a mail for `malist receive`). */
  input?: Buffer;
}

/** Runs `node --import tsx script …args` and collects its output; never rejects. */
export function runChild(
  script: string,
  args: string[],
  opts: ChildOptions = {},
): Promise<ChildResult> {
  const started = performance.now();
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: opts.cwd ?? REPO,
      env: { ...process.env, MALIST_CRASH_AT: '', MALIST_TEST_BROKEN: '', ...opts.env },
      stdio: [opts.input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    if (opts.input && child.stdin) {
      child.stdin.on('error', () => {});
      child.stdin.end(opts.input);
    }
    let stdout = '';
    let stderr = '';
    let killedByHarness = false;
    let timedOut = false;
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      timedOut = true;
      killedByHarness = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 60_000);
    const killer =
      opts.killAfterMs !== undefined
        ? setTimeout(() => {
            killedByHarness = true;
            child.kill('SIGKILL');
          }, opts.killAfterMs)
        : undefined;
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (killer) clearTimeout(killer);
      done({
        code,
        signal,
        stdout,
        stderr,
        ms: performance.now() - started,
        killedByHarness: killedByHarness && signal === 'SIGKILL',
        timedOut,
      });
    });
  });
}

/** What the receiving side holds for a trial, against what it should hold. */
export interface Tally {
  /** (post, recipient) pairs that should have arrived (or been held). */
  expected: number;
  /** Expected pairs that arrived at least once. */
  received: number;
  /** Expected pairs that never arrived. */
  lost: number;
  /** Copies beyond the first of any pair, but for the excused ones (`inDoubt`). */
  duplicated: number;
  /**
   * Extra copies of pairs the server had accepted while the sender had not yet recorded
   * that durably when it was killed (RFC 1047's window): sent again by design, since the
   * alternative is losing them. Counted, reported, never hidden in `duplicated`.
   */
  inDoubt: number;
  /** Pairs that arrived but were not expected (a held post delivered, a stranger). */
  unexpected: number;
  /** Mails still at the source or waiting in the queue after the final run. */
  left: number;
  /** A few offending pairs, for the failure message. */
  examples: string[];
}

/**
 * Counts received pairs against expected ones; `left` is the scenario's own count;
 * `excused` says, per pair, how many extra copies a crash in RFC 1047's window explains.
 */
export function tally(
  expected: Iterable<string>,
  received: Iterable<string>,
  left = 0,
  excused: ReadonlyMap<string, number> = new Map(),
): Tally {
  const want = new Set(expected);
  const got = new Map<string, number>();
  for (const pair of received) got.set(pair, (got.get(pair) ?? 0) + 1);
  const examples: string[] = [];
  let lost = 0;
  let duplicated = 0;
  let inDoubt = 0;
  let unexpected = 0;
  for (const pair of want) {
    const n = got.get(pair) ?? 0;
    if (n === 0) {
      lost++;
      if (examples.length < 5) examples.push(`lost ${pair}`);
    }
  }
  for (const [pair, n] of got) {
    if (n > 1) {
      const allowed = Math.min(n - 1, excused.get(pair) ?? 0);
      inDoubt += allowed;
      duplicated += n - 1 - allowed;
      if (n - 1 > allowed && examples.length < 5) examples.push(`${n}x ${pair}`);
    }
    if (!want.has(pair)) {
      unexpected++;
      if (examples.length < 5) examples.push(`unexpected ${pair}`);
    }
  }
  return {
    expected: want.size,
    received: [...want].filter((p) => got.has(p)).length,
    lost,
    duplicated,
    inDoubt,
    unexpected,
    left,
    examples,
  };
}

/** One trial of a scenario: fresh source, state and receiver. */
export interface Trial {
  /** Runs the scenario's child once. */
  run(opts?: ChildOptions): Promise<ChildResult>;
  /** Counts at the receiving side. */
  count(): Promise<Tally>;
  /**
   * Called right after each kill, before the next run: a scenario whose receiver can tell
   * notes the pairs in RFC 1047's window (accepted by the server, not yet recorded by the
   * sender) so `count()` can excuse exactly one extra copy of each.
   */
  afterCrash?(): Promise<void>;
  dispose(): Promise<void>;
}

export interface Scenario {
  name: string;
  /** The crash points this scenario reaches. */
  points: readonly string[];
  /**
   * Crash points where RFC 1047's window (the server said 250, the sender has not yet
   * recorded it) can be open, so an extra copy is excusable there — and only there, and
   * after random kills. At any other point every extra copy counts as duplicated.
   */
  windowPoints?: ReadonlySet<string>;
  /** A fresh trial; `id` makes its posts unique (Message-IDs) on a shared receiver. */
  prepare(id: string): Promise<Trial>;
}

export interface TrialOutcome {
  crashed: boolean;
  tally: Tally;
  /** Runs needed after the crash until the child finished cleanly. */
  recoveries: number;
  /** The child never finished cleanly within the allowed recoveries. */
  stuck: boolean;
  lastStderr: string;
}

export interface HarnessOptions {
  /** Clean runs allowed after a crash before the trial counts as stuck. @default 4 */
  maxRecoveries?: number;
  /** Child timeout. @default 60000 */
  timeoutMs?: number;
  /** Extra environment for every run (e.g. MALIST_TEST_BROKEN for the self-test). */
  env?: Record<string, string>;
}

let trialCounter = 0;
function trialId(): string {
  trialCounter++;
  return `t${process.pid.toString(36)}${Date.now().toString(36)}${trialCounter.toString(36)}`;
}

/** Runs the trial's child again (no crash) until it exits 0; returns how many runs it took. */
async function recover(
  trial: Trial,
  opts: HarnessOptions,
): Promise<{ runs: number; ok: boolean; stderr: string }> {
  let stderr = '';
  for (let i = 1; i <= (opts.maxRecoveries ?? 4); i++) {
    const r = await trial.run({ env: opts.env ?? {}, timeoutMs: opts.timeoutMs });
    stderr = r.stderr;
    if (r.code === 0) return { runs: i, ok: true, stderr };
  }
  return { runs: opts.maxRecoveries ?? 4, ok: false, stderr };
}

/** Crashes the scenario at the `n`th time it reaches `point`, recovers, counts. */
export async function crashAt(
  scenario: Scenario,
  point: string,
  n: number,
  opts: HarnessOptions = {},
): Promise<TrialOutcome> {
  const trial = await scenario.prepare(trialId());
  try {
    const first = await trial.run({
      env: { ...opts.env, MALIST_CRASH_AT: `${point}:${n}` },
      timeoutMs: opts.timeoutMs,
    });
    const crashed = first.signal === 'SIGKILL' && !first.killedByHarness;
    if (first.signal === 'SIGKILL' && scenario.windowPoints?.has(point)) await trial.afterCrash?.();
    const rec =
      crashed || first.code !== 0
        ? await recover(trial, opts)
        : { runs: 0, ok: true, stderr: first.stderr };
    return {
      crashed,
      tally: await trial.count(),
      recoveries: rec.runs,
      stuck: !rec.ok,
      lastStderr: rec.stderr,
    };
  } finally {
    await trial.dispose();
  }
}

export interface PointResult {
  scenario: string;
  point: string;
  /** Crashes (kills) made and recovered from. */
  runs: number;
  lost: number;
  duplicated: number;
  /** Excused extra copies: RFC 1047's window (see Tally.inDoubt). */
  inDoubt: number;
  unexpected: number;
  left: number;
  /** Trials that never finished cleanly after the crash. */
  stuck: number;
  /** (post, recipient) pairs checked over all trials. */
  pairs: number;
  ms: number;
  examples: string[];
}

function emptyResult(scenario: string, point: string): PointResult {
  return {
    scenario,
    point,
    runs: 0,
    lost: 0,
    duplicated: 0,
    inDoubt: 0,
    unexpected: 0,
    left: 0,
    stuck: 0,
    pairs: 0,
    ms: 0,
    examples: [],
  };
}

function add(result: PointResult, outcome: TrialOutcome): void {
  const t = outcome.tally;
  result.lost += t.lost;
  result.duplicated += t.duplicated;
  result.inDoubt += t.inDoubt;
  result.unexpected += t.unexpected;
  result.left += t.left;
  result.pairs += t.expected;
  if (outcome.stuck) {
    result.stuck++;
    if (result.examples.length < 8)
      result.examples.push(`stuck: ${outcome.lastStderr.trim().split('\n').slice(-2).join(' | ')}`);
  }
  for (const e of t.examples) if (result.examples.length < 8) result.examples.push(e);
}

/**
 * Every hit of one crash point: crash at hit 1, 2, … (`parallel` trials at once) until a
 * trial's child never reaches the point; `maxHits` bounds the sweep.
 */
export async function sweepPoint(
  scenario: Scenario,
  point: string,
  opts: HarnessOptions & { maxHits?: number; parallel?: number } = {},
): Promise<PointResult> {
  const result = emptyResult(scenario.name, point);
  const started = performance.now();
  const maxHits = opts.maxHits ?? 64;
  const parallel = opts.parallel ?? 1;
  let n = 1;
  let exhausted = false;
  while (!exhausted && n <= maxHits) {
    const batch = Array.from({ length: Math.min(parallel, maxHits - n + 1) }, (_, i) => n + i);
    const outcomes = await Promise.all(batch.map((k) => crashAt(scenario, point, k, opts)));
    for (const outcome of outcomes) {
      // A trial that never reached the point is a clean run: its counts still count.
      if (outcome.crashed) result.runs++;
      else exhausted = true;
      add(result, outcome);
    }
    n += batch.length;
  }
  result.ms = performance.now() - started;
  return result;
}

/**
 * Random SIGKILLs: each trial is killed `kills` times at random moments within
 * [`fromMs`, `toMs`] of its start (the window where the work happens), then run to the end.
 */
export async function randomKills(
  scenario: Scenario,
  opts: HarnessOptions & {
    trials: number;
    kills: number;
    fromMs: number;
    toMs: number;
    seed: number;
    parallel?: number;
  },
): Promise<PointResult> {
  const result = emptyResult(scenario.name, `random SIGKILL (seed ${opts.seed})`);
  const started = performance.now();
  const random = prng(opts.seed);
  const one = async (delays: number[]): Promise<void> => {
    const trial = await scenario.prepare(trialId());
    try {
      for (const killAfterMs of delays) {
        const r = await trial.run({ env: opts.env ?? {}, killAfterMs, timeoutMs: opts.timeoutMs });
        if (r.signal === 'SIGKILL') await trial.afterCrash?.();
        if (r.killedByHarness && !r.timedOut) result.runs++;
        else break; // finished before the kill: nothing more to interrupt
      }
      const rec = await recover(trial, opts);
      add(result, {
        crashed: true,
        tally: await trial.count(),
        recoveries: rec.runs,
        stuck: !rec.ok,
        lastStderr: rec.stderr,
      });
    } finally {
      await trial.dispose();
    }
  };
  const plans = Array.from({ length: opts.trials }, () =>
    Array.from({ length: opts.kills }, () => opts.fromMs + random() * (opts.toMs - opts.fromMs)),
  );
  const parallel = opts.parallel ?? 1;
  for (let i = 0; i < plans.length; i += parallel) {
    await Promise.all(plans.slice(i, i + parallel).map(one));
  }
  result.ms = performance.now() - started;
  return result;
}

/** Every `crashPoint('name')` in src/, so a new point without a scenario is noticed. */
export async function discoverCrashPoints(
  srcDir = join(REPO, 'src'),
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
        const text = await readFile(path, 'utf8');
        for (const m of text.matchAll(/crashPoint\(\s*['"`]([^'"`]+)['"`]\s*\)/g))
          found.set(m[1]!, relative(REPO, path));
      }
    }
  };
  await walk(srcDir);
  return found;
}

/** The operator's table: point, runs, lost, duplicated (and what else went wrong). */
export function formatTable(rows: PointResult[], title: string): string {
  const cols = [
    'runs',
    'lost',
    'duplicated',
    'inDoubt',
    'unexpected',
    'left',
    'stuck',
    'pairs',
  ] as const;
  const head = ['scenario', 'point', ...cols.map((c) => (c === 'inDoubt' ? 'rfc1047' : c)), 's'];
  const total = emptyResult('TOTAL', '');
  for (const r of rows) {
    for (const c of cols) total[c] += r[c];
    total.ms += r.ms;
  }
  const body = [...rows, total].map((r) => [
    r.scenario,
    r.point,
    ...cols.map((c) => String(r[c])),
    (r.ms / 1000).toFixed(1),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [
    title,
    line(head),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...body.map(line),
    `${total.runs} crashes, ${total.pairs} (post, recipient) pairs checked: ${total.lost} lost, ` +
      `${total.duplicated} duplicated, ${total.unexpected} unexpected, ${total.left} left behind, ` +
      `${total.stuck} stuck; ${total.inDoubt} re-sent in RFC 1047's window (server said 250, ` +
      'the process died before it could record it)',
  ].join('\n');
}

/** Where reports go: var/reliability/ (ignored by git), or MALIST_RELIABILITY_DIR. */
export function reportDir(): string {
  return process.env.MALIST_RELIABILITY_DIR ?? join(REPO, 'var', 'reliability');
}

/** Prints the table and writes it, with the rows, as JSON; returns the JSON path. */
export async function report(name: string, title: string, rows: PointResult[]): Promise<string> {
  const table = formatTable(rows, title);
  process.stdout.write(`\n${table}\n`);
  const dir = reportDir();
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${name}.json`);
  await writeFile(
    path,
    `${JSON.stringify({ name, title, at: new Date().toISOString(), rows, table }, null, 2)}\n`,
  );
  await writeFile(join(dir, `${name}.txt`), `${table}\n`);
  return path;
}

/** True when no promise broke in these rows. */
/** What every row must show: nothing lost, duplicated, unexpected, left behind or stuck. */
export const CLEAN = { lost: 0, duplicated: 0, unexpected: 0, left: 0, stuck: 0 } as const;

export function clean(rows: PointResult[]): boolean {
  return rows.every(
    (r) =>
      r.lost === 0 && r.duplicated === 0 && r.unexpected === 0 && r.left === 0 && r.stuck === 0,
  );
}
