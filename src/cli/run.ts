/**
 * `malist run [--config DIR]` — the cron job: fetch from every configured source, process,
 * distribute, run the queue. One run at a time per state directory (a lock that dies with
 * its holder). One summary line per list on stdout; progress when stdout is a terminal.
 * Exit status non-zero only when something needs the operator.
 */
import { join, relative } from 'node:path';
import { buildFetchers, type Plan, type Plans } from '../config/build.ts';
import { DEMO_INBOX } from '../config/default.ts';
import { EXAMPLE_POSTS, seedDemoInbox } from '../config/demo.ts';
import type { LoadedConfig } from '../config/load.ts';
import { openConfig, printProblems, printWarnings } from '../config/open.ts';
import { buildRuntime, isTemporary, type ListRuntime } from '../config/runtime.ts';
import { storageOf, webCredentialsFor } from '../config/storage.ts';
import { describeError } from '../errors.ts';
import { type OutcomeEvent, type PlaySummary, play, RUN_CONCURRENCY } from '../play.ts';
import type { Queue } from '../queue/queue.ts';
import { acquireLock } from '../state/lock.ts';
import type { RecipientResult } from '../types.ts';
import { commandArgs } from './args.ts';
import createDeliveryLog, { type DeliveryLog } from './delivery-log.ts';
import { EX } from './exit-codes.ts';
import { pruneState } from './housekeeping.ts';
import { countOutcome } from './outcome-counts.ts';
import {
  countDeadLetter,
  countEvent,
  countOverdue,
  countRetry,
  describeTally,
  type ListTally,
  listAttention,
  newTally,
  plural,
  tallyJson,
} from './run-report.ts';

const USAGE = `usage: malist run [--config DIR] [--quiet] [--json]

Fetches from every source in DIR/malist.yaml (default: the working directory), processes
and distributes, and runs the queue. Without a malist.yaml it runs the embedded demo
(local maildirs under var/demo, no server). One line per list: posts, and recipients
delivered, queued (with the server's reply), deferred and refused; held, rejected, discarded.

  --quiet   for cron: nothing on stdout unless a list needs the operator (its line only)
  --json    one JSON document on stdout instead of the lines (see the README)

Exit status: 0 all is well (also when another run holds the lock, and when mail is queued
because the server is down for a while), 1 something needs the operator (one line on stderr
says what: the server refused the login or TLS failed and nothing was delivered, dead
letters were made, recipients queued for longer than the queue's alert_after, a source or
the state directory failed), 78 configuration error.
`;

function shortPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
}

export interface RunOptions {
  /** Stops after the mail in hand (`malist watch` on SIGTERM): play() fetches no more. */
  signal?: AbortSignal;
}

export default async function run(argv: string[], options: RunOptions = {}): Promise<number> {
  const parsed = commandArgs(
    'run',
    argv,
    {
      config: { type: 'string', short: 'c' },
      quiet: { type: 'boolean', short: 'q' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    USAGE,
    process.stderr,
  );
  if (!parsed) return EX.USAGE;
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return EX.OK;
  }
  if (positionals.length > 0) {
    process.stderr.write(`malist run: unexpected argument '${positionals[0]}'\n${USAGE}`);
    return EX.USAGE;
  }
  const mode: OutputMode = values.json ? 'json' : values.quiet ? 'quiet' : 'lines';
  // Notes that need no one: on stdout for a person, gone for cron, on stderr beside JSON.
  const note = (text: string) => {
    if (mode === 'lines') process.stdout.write(text);
    else if (mode === 'json') process.stderr.write(text);
  };
  const { config, plans } = await openConfig(values.config ? { dir: values.config } : {});
  if (config.embedded) {
    note(
      `malist: no malist.yaml in ${shortPath(config.dir) || '.'}; using the embedded default ` +
        `(mail from ${DEMO_INBOX}, delivered into var/demo/out/<recipient>/new, no server)\n`,
    );
  }
  printWarnings(config, process.stderr);
  if (config.problems.length > 0 || !config.main) {
    printProblems(config, process.stderr);
    process.stderr.write(
      `malist run: ${plural(config.problems.length, 'configuration problem')}; nothing done (malist check shows them too)\n`,
    );
    return EX.CONFIG;
  }
  // Without sources (mail arrives by `malist receive`) a run still retries the queue.
  if (plans.fetchers.length === 0 && !plans.distributors.some((p) => p.type === 'queue')) {
    process.stderr.write(
      `malist run: ${config.source.file} has no fetch: sources and no queue; nothing to do (add fetch: [{ type: pop3, … }])\n`,
    );
    return EX.CONFIG;
  }
  const lockResult = await acquireLock(join(config.main.state_dir, 'run.lock'));
  if ('busy' in lockResult) {
    const who = lockResult.busy
      ? `pid ${lockResult.busy.pid} on ${lockResult.busy.host}`
      : 'another process';
    note(
      `malist run: another run (${who}) is still working on ${shortPath(config.main.state_dir)}; nothing done\n`,
    );
    if (mode === 'json') writeJson({ busy: who, lists: [], attention: [], exit: EX.OK });
    return EX.OK;
  }
  try {
    if (config.embedded) {
      const seeded = await seedDemoInbox(join(config.dir, DEMO_INBOX));
      if (seeded > 0)
        note(
          `malist: the demo inbox was empty; seeded it with ${seeded} example posts from ${shortPath(EXAMPLE_POSTS)}\n`,
        );
    }
    return await runLocked(config, plans, mode, options.signal);
  } finally {
    await lockResult.lock.release();
  }
}

type MainConfig = NonNullable<LoadedConfig['main']>;

/** lines: for a person; quiet: for cron (stdout only when needed); json: one document. */
type OutputMode = 'lines' | 'quiet' | 'json';

function writeJson(doc: unknown): void {
  process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
}

/** What a run tells the operator, gathered as it goes. */
interface RunReport {
  readonly mode: OutputMode;
  /** A running count of handled mails on a terminal. */
  readonly progress: boolean;
  readonly tallies: Map<string, ListTally>;
  readonly totals: { fetched: number; skipped: number; quarantined: number; failed: number };
  readonly sources: Array<{ source: string; fetched: number }>;
  /** Queue runs: entries retried and their recipients' outcomes. */
  readonly queue: { entries: number; delivered: number; deferred: number; refused: number };
  /** What needs the operator, beyond the lists' own reasons (the exit status is 1 when any). */
  readonly attention: string[];
  handled: number;
}

/** Writes a line for a person (not in quiet or JSON mode). */
function say(report: RunReport, text: string): void {
  if (report.mode === 'lines') process.stdout.write(text);
}

/** The run under the lock: the queue's retries, every source, the summary. */
async function runLocked(
  config: LoadedConfig,
  plans: Plans,
  mode: OutputMode,
  signal: AbortSignal | undefined,
): Promise<number> {
  const main = config.main!;
  let runtime: ListRuntime;
  try {
    runtime = await buildRuntime(config, plans);
  } catch (error) {
    process.stderr.write(
      `malist run: ${isTemporary(error) ? 'needs attention: ' : ''}${describeError(error)}\n`,
    );
    return isTemporary(error) ? EX.ATTENTION : EX.CONFIG;
  }
  const report: RunReport = {
    mode,
    progress: mode === 'lines' && process.stdout.isTTY === true,
    tallies: new Map(),
    totals: { fetched: 0, skipped: 0, quarantined: 0, failed: 0 },
    sources: [],
    queue: { entries: 0, delivered: 0, deferred: 0, refused: 0 },
    attention: [],
    handled: 0,
  };
  const log: DeliveryLog | undefined = main.delivery_log
    ? createDeliveryLog({ file: main.delivery_log })
    : undefined;
  await retryQueues(runtime, report, log);
  const rows = storageOf(main).type === 'postgres' ? runtime.tokens : undefined;
  const memoRows = rows ? runtime.listState.memos : undefined;
  const web = () => webCredentialsFor(main);
  await pruneState(main.state_dir, Date.now(), rows, memoRows, web).catch((e) =>
    report.attention.push(describeError(e)),
  );
  const processor = runtime.processor();
  try {
    await fetchAll(runtime, processor, plans, main, report, log, signal);
  } catch (error) {
    report.attention.push(describeError(error));
  } finally {
    await runWebhooks(runtime, report);
    for (const event of runtime.deadLetters)
      countDeadLetter(tallyOf(report, event.list ?? '_default'), event);
    await countQueued(runtime, report);
    await runtime.close();
  }
  try {
    await log?.flush();
  } catch (error) {
    report.attention.push(`delivery log ${main.delivery_log}: ${describeError(error)}`);
  }
  return finish(report, plans, main);
}

/** The queues of the configured outlets (the queue distributor's `queue`). */
function queuesOf(runtime: ListRuntime): Queue[] {
  return runtime.outlets.flatMap((d) => {
    const queue = (d as { queue?: Queue }).queue;
    return queue ? [queue] : [];
  });
}

/** Retries of earlier deferrals first; new posts are delivered at once as they are spooled. */
async function retryQueues(
  runtime: ListRuntime,
  report: RunReport,
  log: DeliveryLog | undefined,
): Promise<void> {
  for (const queue of queuesOf(runtime)) {
    try {
      const r = await queue.run();
      report.queue.entries += r.processed;
      report.queue.delivered += r.delivered;
      report.queue.deferred += r.deferred;
      report.queue.refused += r.failed;
      const perList = new Map<string, RecipientResult[]>();
      for (const round of r.rounds) {
        const list = round.list ?? '_default';
        perList.set(list, [...(perList.get(list) ?? []), ...round.results]);
        countRetry(tallyOf(report, list), round.results);
      }
      for (const [list, results] of perList) log?.recordRetries(list, countOutcome(results));
      if (r.processed > 0)
        say(
          report,
          `queue: ${r.delivered} delivered, ${r.deferred} deferred, ${r.failed} refused (${plural(r.processed, 'entry')} retried)\n`,
        );
      for (const error of r.errors) report.attention.push(`queue ${queue.where}: ${error}`);
    } catch (error) {
      report.attention.push(`queue run failed: ${describeError(error)}`);
    }
  }
}

/** Recipients still queued past each queue's `alert_after`, per list. */
async function countQueued(runtime: ListRuntime, report: RunReport): Promise<void> {
  const now = Date.now();
  for (const queue of queuesOf(runtime)) {
    try {
      for (const entry of await queue.list())
        countOverdue(
          tallyOf(report, entry.envelope.list ?? '_default'),
          entry,
          now,
          queue.alertAfter,
        );
    } catch (error) {
      report.attention.push(`queue ${queue.where}: ${describeError(error)}`);
    }
  }
}

/**
 * The webhook events of this run (and earlier ones due again), after the mail: a receiver
 * that is down is retried at a later run, and does not need the operator.
 */
async function runWebhooks(runtime: ListRuntime, report: RunReport): Promise<void> {
  if (!runtime.webhooks) return;
  try {
    const r = await runtime.webhooks.run();
    if (r.deferred > 0 || r.failed > 0)
      say(
        report,
        `webhooks: ${r.delivered} delivered, ${r.deferred} deferred, ${r.failed} refused\n`,
      );
  } catch (error) {
    process.stderr.write(`malist run: webhooks: ${describeError(error)}\n`);
  }
}

/** play() over every source in turn, until the signal says stop. */
async function fetchAll(
  runtime: ListRuntime,
  processor: ReturnType<ListRuntime['processor']>,
  plans: Plans,
  main: MainConfig,
  report: RunReport,
  log: DeliveryLog | undefined,
  signal: AbortSignal | undefined,
): Promise<void> {
  const onOutcome = (event: OutcomeEvent) => {
    log?.record(event);
    countEvent(tallyOf(report, event.list), event);
    report.handled++;
    if (report.progress) process.stdout.write(`\r\x1b[2K… ${report.handled} handled`);
  };
  const fetchers = buildFetchers(plans, main.state_dir);
  for (const [i, fetcher] of fetchers.entries()) {
    if (signal?.aborted) break;
    const plan = plans.fetchers[i]!;
    const source = `${plan.type}${sourcePlace(plan)}`;
    let summary: PlaySummary;
    try {
      summary = await play({
        fetcher,
        processor,
        distributor: runtime.distributors,
        reactor: runtime.reactors,
        stateDir: main.state_dir,
        journal: runtime.journal,
        ...(runtime.moderation.storage ? { held: runtime.moderation.storage } : {}),
        concurrency: main.concurrency ?? RUN_CONCURRENCY,
        onOutcome,
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      report.attention.push(`${source}: ${describeError(error)}`);
      continue;
    }
    if (report.progress) process.stdout.write('\r\x1b[2K');
    say(report, `fetched ${summary.fetched} from ${source}\n`);
    report.sources.push({ source, fetched: summary.fetched });
    addTotals(report, summary, source);
  }
}

/** " var/inbox" or " pop.example.com": where a source's mail comes from, for messages. */
function sourcePlace(plan: Plan): string {
  if (plan.options.dir) return ` ${shortPath(String(plan.options.dir))}`;
  if (plan.options.host) return ` ${String(plan.options.host)}`;
  return '';
}

function addTotals(report: RunReport, summary: PlaySummary, source: string): void {
  report.totals.fetched += summary.fetched;
  report.totals.skipped += summary.skipped;
  report.totals.quarantined += summary.quarantined;
  report.totals.failed += summary.failed;
  if (summary.fetchError)
    report.attention.push(
      `${source}: ${describeError(summary.fetchError)} (the rest stays at the source)`,
    );
}

function tallyOf(report: RunReport, list: string): ListTally {
  let t = report.tallies.get(list);
  if (!t) {
    t = newTally();
    report.tallies.set(list, t);
  }
  return t;
}

/**
 * The summary: one line per list (in quiet mode only the lists that need the operator), or
 * the JSON document; then ONE stderr line when anything needs the operator, and the status.
 */
function finish(report: RunReport, plans: Plans, main: MainConfig): number {
  const { tallies, totals, attention } = report;
  if (totals.quarantined > 0)
    attention.push(
      `${plural(totals.quarantined, 'mail')} quarantined in ${shortPath(join(main.state_dir, 'quarantine'))} (a unit failed on them)`,
    );
  if (totals.failed > 0)
    attention.push(
      `${plural(totals.failed, 'mail')} failed and stay at their source for the next run`,
    );
  const lists = plans.lists.map(({ list }) => ({
    name: list.name,
    address: list.settings.address,
    tally: tallies.get(list.name) ?? newTally(),
  }));
  const unrouted = tallies.get('_default');
  if (unrouted) lists.push({ name: '_default', address: '', tally: unrouted });
  const listReasons = lists.flatMap((l) => listAttention(l.name, l.tally) ?? []);
  const reasons = [...listReasons, ...attention];
  const exit = reasons.length > 0 ? EX.ATTENTION : EX.OK;
  if (report.mode === 'json') {
    writeJson({
      lists: lists.map((l) => tallyJson(l.name, l.address, l.tally)),
      sources: report.sources,
      queue: report.queue,
      skipped: totals.skipped,
      quarantined: totals.quarantined,
      failed: totals.failed,
      attention: reasons,
      exit,
    });
  } else {
    for (const l of lists) {
      const line = describeTally(l.tally);
      if (l.name === '_default' && line === 'nothing new') continue;
      if (report.mode === 'quiet' && !listAttention(l.name, l.tally)) continue;
      const label = l.name === '_default' ? 'addressed to no list' : `${l.name} (${l.address})`;
      process.stdout.write(`${label}: ${line}\n`);
    }
    if (totals.skipped > 0)
      say(
        report,
        `${totals.skipped} already handled, skipped (the journal ${storageOf(main).type === 'postgres' ? 'in PostgreSQL' : `in ${shortPath(join(main.state_dir, 'journal'))}`} recognised them)\n`,
      );
  }
  if (reasons.length > 0)
    process.stderr.write(`malist run: needs attention (exit 1): ${reasons.join('; ')}\n`);
  return exit;
}
