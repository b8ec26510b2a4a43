/**
 * `malist run [--config DIR]` — the cron job: fetch from every configured source, process,
 * distribute, run the queue. One run at a time per state directory (a lock that dies with
 * its holder). One summary line per list on stdout; progress when stdout is a terminal.
 * Exit status non-zero only when something needs the operator.
 */
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { buildFetchers, type Plan, type Plans } from '../config/build.ts';
import { DEMO_INBOX } from '../config/default.ts';
import { EXAMPLE_POSTS, seedDemoInbox } from '../config/demo.ts';
import type { LoadedConfig } from '../config/load.ts';
import { openConfig, printProblems, printWarnings } from '../config/open.ts';
import { buildRuntime, isTemporary, type ListRuntime } from '../config/runtime.ts';
import { describeError } from '../errors.ts';
import { type OutcomeEvent, type PlaySummary, play, RUN_CONCURRENCY } from '../play.ts';
import { acquireLock } from '../state/lock.ts';
import createDeliveryLog, { type DeliveryLog } from './delivery-log.ts';
import { EX } from './exit-codes.ts';
import { pruneState } from './housekeeping.ts';

const USAGE = `usage: malist run [--config DIR] [--quiet]

Fetches from every source in DIR/malist.yaml (default: the working directory), processes
and distributes, and runs the queue. Without a malist.yaml it runs the embedded demo
(local maildirs under var/demo, no server). Exit status: 0 all is well (also when another
run holds the lock), 1 something needs the operator, 78 configuration error.`;

interface ListTally {
  distributed: number;
  /** Deliveries (post × recipient) delivered or queued. */
  recipients: number;
  /** Distinct recipients. */
  reached: Set<string>;
  held: number;
  rejected: number;
  discarded: number;
  failed: number;
  refused: number;
}

function newTally(): ListTally {
  return {
    distributed: 0,
    recipients: 0,
    reached: new Set(),
    held: 0,
    rejected: 0,
    discarded: 0,
    failed: 0,
    refused: 0,
  };
}

function plural(n: number, word: string): string {
  if (n === 1) return `${n} ${word}`;
  return `${n} ${word.endsWith('y') && word !== 'entry' ? `${word.slice(0, -1)}ies` : word.endsWith('y') ? 'entries' : `${word}s`}`;
}

/** "2 distributed to 6 recipients, 1 held" — or "nothing new". */
export function describeTally(t: ListTally): string {
  const parts: string[] = [];
  if (t.distributed) {
    const deliveries =
      t.recipients !== t.reached.size ? ` (${plural(t.recipients, 'delivery')})` : '';
    parts.push(
      `${t.distributed} distributed to ${plural(t.reached.size, 'recipient')}${deliveries}`,
    );
  }
  if (t.refused) parts.push(`${plural(t.refused, 'recipient')} refused`);
  if (t.held) parts.push(`${t.held} held`);
  if (t.rejected) parts.push(`${t.rejected} rejected`);
  if (t.discarded) parts.push(`${t.discarded} discarded`);
  if (t.failed) parts.push(`${t.failed} failed (kept for the next run)`);
  return parts.length ? parts.join(', ') : 'nothing new';
}

function shortPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
}

export interface RunOptions {
  /** Stops after the mail in hand (`malist watch` on SIGTERM): play() fetches no more. */
  signal?: AbortSignal;
}

export default async function run(argv: string[], options: RunOptions = {}): Promise<number> {
  let values: { config?: string; quiet?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        quiet: { type: 'boolean', short: 'q' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    process.stderr.write(`malist run: ${(error as Error).message}\n${USAGE}\n`);
    return EX.USAGE;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return EX.OK;
  }
  const out = process.stdout;
  const { config, plans } = await openConfig(values.config ? { dir: values.config } : {});
  if (config.embedded) {
    out.write(
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
    out.write(
      `malist run: another run (${who}) is still working on ${shortPath(config.main.state_dir)}; nothing done\n`,
    );
    return EX.OK;
  }
  try {
    if (config.embedded) {
      const seeded = await seedDemoInbox(join(config.dir, DEMO_INBOX));
      if (seeded > 0)
        out.write(
          `malist: the demo inbox was empty; seeded it with ${seeded} example posts from ${shortPath(EXAMPLE_POSTS)}\n`,
        );
    }
    return await runLocked(config, plans, values.quiet === true, options.signal);
  } finally {
    await lockResult.lock.release();
  }
}

type MainConfig = NonNullable<LoadedConfig['main']>;

/** What a run tells the operator, gathered as it goes. */
interface RunReport {
  readonly out: NodeJS.WriteStream;
  /** A running count of handled mails on a terminal. */
  readonly progress: boolean;
  readonly tallies: Map<string, ListTally>;
  readonly totals: { fetched: number; skipped: number; quarantined: number; failed: number };
  /** Lines for stderr: what needs the operator (the exit status is 1 when any). */
  readonly attention: string[];
  handled: number;
}

/** The run under the lock: the queue's retries, every source, the summary. */
async function runLocked(
  config: LoadedConfig,
  plans: Plans,
  quiet: boolean,
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
    return isTemporary(error) ? 1 : EX.CONFIG;
  }
  const out = process.stdout;
  const report: RunReport = {
    out,
    progress: !quiet && out.isTTY === true,
    tallies: new Map(),
    totals: { fetched: 0, skipped: 0, quarantined: 0, failed: 0 },
    attention: [],
    handled: 0,
  };
  const log: DeliveryLog | undefined = main.delivery_log
    ? createDeliveryLog({ file: main.delivery_log })
    : undefined;
  await retryQueues(runtime, report);
  await pruneState(main.state_dir).catch((e) => report.attention.push(describeError(e)));
  const processor = runtime.processor();
  try {
    await fetchAll(runtime, processor, plans, main, report, log, signal);
  } catch (error) {
    report.attention.push(describeError(error));
  } finally {
    await runWebhooks(runtime, report);
    await runtime.close();
  }
  printSummary(report, plans, main);
  try {
    await log?.flush();
  } catch (error) {
    report.attention.push(`delivery log ${main.delivery_log}: ${describeError(error)}`);
  }
  for (const line of report.attention)
    process.stderr.write(`malist run: needs attention: ${line}\n`);
  return report.attention.length > 0 ? 1 : EX.OK;
}

/** Retries of earlier deferrals first; new posts are delivered at once as they are spooled. */
async function retryQueues(runtime: ListRuntime, report: RunReport): Promise<void> {
  for (const d of runtime.outlets) {
    const queue = (
      d as {
        queue?: {
          run(): Promise<{
            processed: number;
            delivered: number;
            deferred: number;
            failed: number;
          }>;
        };
      }
    ).queue;
    if (!queue) continue;
    try {
      const r = await queue.run();
      if (r.processed > 0)
        report.out.write(
          `queue: ${r.delivered} delivered, ${r.deferred} deferred, ${r.failed} failed (${plural(r.processed, 'entry')} retried)\n`,
        );
    } catch (error) {
      report.attention.push(`queue run failed: ${describeError(error)}`);
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
      report.out.write(
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
    countOutcome(tallyOf(report, event.list), event);
    report.handled++;
    if (report.progress) report.out.write(`\r\x1b[2K… ${report.handled} handled`);
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
        concurrency: main.concurrency ?? RUN_CONCURRENCY,
        onOutcome,
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      report.attention.push(`${source}: ${describeError(error)}`);
      continue;
    }
    if (report.progress) report.out.write('\r\x1b[2K');
    report.out.write(`fetched ${summary.fetched} from ${source}\n`);
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

/** Adds one mail's outcome to its list's tally. */
function countOutcome(t: ListTally, event: OutcomeEvent): void {
  const results = event.report?.results ?? [];
  const count = (status: string[]) =>
    new Set(results.filter((r) => status.includes(r.status)).map((r) => r.recipient)).size;
  if (event.outcome === 'distributed') {
    t.distributed++;
    t.recipients += count(['delivered', 'queued']);
    for (const r of results)
      if (r.status === 'delivered' || r.status === 'queued') t.reached.add(r.recipient);
    t.refused += count(['failed']);
  } else if (
    event.outcome === 'held' ||
    event.outcome === 'rejected' ||
    event.outcome === 'discarded'
  ) {
    t[event.outcome]++;
  } else if (event.outcome === 'failed' || event.outcome === 'partial') t.failed++;
}

/** One line per list, then what the journal skipped and what needs the operator. */
function printSummary(report: RunReport, plans: Plans, main: MainConfig): void {
  const { out, tallies, totals, attention } = report;
  for (const { list } of plans.lists) {
    out.write(
      `${list.name} (${list.settings.address}): ${describeTally(tallies.get(list.name) ?? newTally())}\n`,
    );
  }
  const unrouted = tallies.get('_default');
  if (unrouted && describeTally(unrouted) !== 'nothing new')
    out.write(`addressed to no list: ${describeTally(unrouted)}\n`);
  if (totals.skipped > 0)
    out.write(
      `${totals.skipped} already handled, skipped (the journal in ${shortPath(join(main.state_dir, 'journal'))} recognised them)\n`,
    );
  if (totals.quarantined > 0)
    attention.push(
      `${plural(totals.quarantined, 'mail')} quarantined in ${shortPath(join(main.state_dir, 'quarantine'))} (a unit failed on them)`,
    );
  if (totals.failed > 0)
    attention.push(
      `${plural(totals.failed, 'mail')} failed and stay at their source for the next run`,
    );
}
