/**
 * One pass over the spool (`queue.run`, what every `malist run` starts with): old done
 * records and sent-logs purged, then stale claims of dead runners taken over, then every
 * waiting entry that is due, each at most once.
 */
import { describeError } from '../errors.ts';
import type { RecipientResult } from '../types.ts';
import type { QueueContext } from './context.ts';
import { type Envelope, nextAttempt } from './envelope.ts';
import type { RunOptions, RunSummary } from './queue.ts';
import { isExpired } from './retry-policy.ts';
import { deliverAll } from './round.ts';

/** A pass in progress: what it was asked for, what it did so far. */
interface Pass {
  readonly ctx: QueueContext;
  readonly force: boolean;
  readonly wanted: Set<string> | undefined;
  /** Entries this pass worked on (or chose to): each at most once. */
  readonly seen: Set<string>;
  readonly summary: RunSummary;
}

export async function runSpool(ctx: QueueContext, options: RunOptions): Promise<RunSummary> {
  await ctx.ready();
  const pass: Pass = {
    ctx,
    force: options.force ?? false,
    wanted: options.ids ? new Set(options.ids) : undefined,
    seen: new Set(),
    summary: {
      processed: 0,
      delivered: 0,
      deferred: 0,
      failed: 0,
      finished: 0,
      reclaimed: 0,
      errors: [],
      rounds: [],
    },
  };
  await ctx.store.purge(ctx.keepDone, ctx.now());
  // Stale claims first: their runner died mid-round, their recipients waited longest.
  for (const { id, name } of await ctx.store.staleClaims()) {
    if (skipped(pass, id)) continue;
    await attempt(pass, id, () => reclaimed(pass, id, name));
  }
  // Each entry at most once per run: a run is bounded even when everything defers.
  for (const id of await ctx.store.waitingIds()) {
    if (skipped(pass, id)) continue;
    pass.seen.add(id);
    await attempt(pass, id, () => retried(pass, id));
  }
  return pass.summary;
}

function skipped(pass: Pass, id: string): boolean {
  return (pass.wanted !== undefined && !pass.wanted.has(id)) || pass.seen.has(id);
}

/**
 * One bad entry (unreadable envelope, full disk) is reported and skipped, never allowed
 * to stop the run for every other entry.
 */
async function attempt(pass: Pass, id: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    pass.summary.errors.push(`${id}: ${describeError(error)}`);
  }
}

/** Takes over a dead runner's claim and delivers the entry. */
async function reclaimed(pass: Pass, id: string, name: string): Promise<void> {
  const claim = await pass.ctx.store.reclaim(name);
  if (!claim) return;
  pass.seen.add(id);
  pass.summary.reclaimed++;
  const { envelope, round } = await deliverAll(pass.ctx, claim, pass.force);
  account(pass.summary, envelope, round);
}

/** Delivers a waiting entry when it is due (or expired, or forced). */
async function retried(pass: Pass, id: string): Promise<void> {
  const { ctx } = pass;
  const peek = await ctx.store.peek(id);
  if (!peek) return;
  const next = nextAttempt(peek);
  const expired = isExpired(peek.created, ctx.now(), ctx.expireAfter);
  if (!pass.force && !expired && next !== undefined && next > ctx.now()) return;
  // An expired entry gives up on every pending recipient, due or not.
  const every = pass.force || expired;
  const claim = await ctx.store.claim(id, every ? {} : { dueBy: ctx.now() });
  if (!claim) return;
  const { envelope, round } = await deliverAll(ctx, claim, pass.force, undefined, every);
  account(pass.summary, envelope, round);
}

function account(summary: RunSummary, envelope: Envelope, round: RecipientResult[]): void {
  summary.processed++;
  if (round.length > 0)
    summary.rounds.push({ ...(envelope.list ? { list: envelope.list } : {}), results: round });
  for (const r of round) {
    if (r.status === 'delivered') summary.delivered++;
    else if (r.status === 'failed') summary.failed++;
    else summary.deferred++;
  }
  if (nextAttempt(envelope) === undefined) summary.finished++;
}
