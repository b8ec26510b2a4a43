/**
 * Handing a post to the queue: a first round from memory when the caller keeps the post at
 * its source, else the entry is spooled (idempotent by ID) and, when asked, delivered at
 * once under the claim it was committed with.
 */
import { describeError } from '../errors.ts';
import type { RecipientResult } from '../types.ts';
import { newEnvelope, type QueueContext, queuedBecause } from './context.ts';
import { asResults, pendingRecords } from './envelope.ts';
import { claimNewPost, firstRound } from './first-round.ts';
import type { Enqueued, EnqueueInput, EnqueueOptions } from './queue.ts';
import { deliverAll, roundResults } from './round.ts';
import type { StoredEntry } from './store.ts';

/** `queue.prepare`: writes an entry that stays invisible until `commit()`. */
export async function prepare(ctx: QueueContext, input: EnqueueInput): Promise<StoredEntry> {
  await ctx.ready();
  return ctx.store.prepare({ ...newEnvelope(ctx, input), raw: input.raw });
}

export async function enqueue(
  ctx: QueueContext,
  input: EnqueueInput,
  options: EnqueueOptions,
): Promise<Enqueued> {
  const sendNow = options.deliverNow ?? ctx.deliverNow;
  // A first round from memory needs every recipient in memory: a streamed one is spooled.
  if (options.sourceKept && sendNow && !input.more) {
    const claim = await claimNewPost(ctx, input.id);
    if (claim) return firstRound(ctx, claim, input);
    // Spooled already, done, or being delivered by another process: the usual way.
  }
  const prepared = await prepare(ctx, input);
  const { claim, ...outcome } = await prepared.commit({ claim: sendNow });
  if (outcome.status === 'done')
    return { outcome, results: asResults(outcome.envelope, ctx.distributor) };
  let why: string | undefined;
  if (claim) {
    // The entry is safe on disk: a failure to deliver now is the runner's to retry, not
    // the caller's (who would spool it again).
    try {
      // Just written: read from memory, unless the claim holds only a batch of it.
      const fresh = claim.partial ? undefined : { envelope: prepared.envelope, raw: input.raw };
      const { envelope, round } = await deliverAll(ctx, claim, false, fresh);
      return { outcome, results: roundResults(ctx, envelope, round) };
    } catch (error) {
      why = describeError(error);
    }
  }
  // A streamed entry is not read back whole to say each recipient is queued.
  if (input.more) return { outcome, results: why ? queuedBecause([], why) : [] };
  // Just written and not claimed: every recipient waits, as written (no read back of a
  // 1,000,000-row entry). An entry there before is read for what it holds now.
  const waiting =
    outcome.status === 'queued' && !claim ? undefined : await ctx.store.peek(outcome.id);
  const results: RecipientResult[] = waiting
    ? asResults(waiting, ctx.distributor)
    : pendingRecords(input.recipients, 0, new Set()).map((r) => ({
        recipient: r.address,
        status: 'queued' as const,
        distributor: ctx.distributor,
      }));
  // Say why nothing went out now (server down, TLS, AUTH): the caller logs it.
  return { outcome, results: why ? queuedBecause(results, why) : results };
}
