/**
 * The first round of a post its caller still holds at its source (play() acks it only
 * after this returns): delivered from memory under a file claim, and only what is left
 * (deferred recipients) is written to the spool. A crash before then leaves the post at
 * its source; the next try reads the sent-log and sends only to those it lacks.
 */
import { describeError } from '../errors.ts';
import { crashPoint } from '../testing/crash-point.ts';
import type { RecipientResult } from '../types.ts';
import { newEnvelope, type QueueContext, queuedBecause } from './context.ts';
import { asResults, createEnvelope, type Envelope, pending } from './envelope.ts';
import type { Enqueued, EnqueueInput } from './queue.ts';
import { roundResults, runRound } from './round.ts';
import type { StoreClaim } from './store.ts';

/**
 * A first-round claim on a post the spool knows nothing of; undefined when it is spooled
 * already, done, or being delivered by another process.
 */
export async function claimNewPost(ctx: QueueContext, id: string): Promise<StoreClaim | undefined> {
  await ctx.ready();
  const before = await ctx.store.existing(id);
  return before ? undefined : ctx.store.claimFirstRound(id);
}

/** Sends a new post's first round under `claim`; spools what is left, then drops the claim. */
export async function firstRound(
  ctx: QueueContext,
  claim: StoreClaim,
  input: EnqueueInput,
): Promise<Enqueued> {
  const envelope = createEnvelope(newEnvelope(ctx, input));
  const outcome = { id: input.id, status: 'queued' } as const;
  let round: RecipientResult[];
  try {
    ({ round } = await runRound(ctx, claim, envelope, input.raw, false));
  } catch (error) {
    // Nothing is known beyond the sent-log: every recipient still pending is spooled.
    await spoolLeftOver(ctx, claim, input, envelope);
    await ctx.store.discard(claim);
    return {
      outcome,
      results: queuedBecause(asResults(envelope, ctx.distributor), describeError(error)),
    };
  }
  crashPoint('queue.before-envelope-update');
  await spoolLeftOver(ctx, claim, input, envelope);
  crashPoint('queue.before-unlink');
  await ctx.store.discard(claim);
  return { outcome, results: roundResults(ctx, envelope, round) };
}

/**
 * Spools the recipients still pending (none: nothing is written). When that fails the
 * claim is dropped too: the post is still at its source, the next try starts over.
 */
async function spoolLeftOver(
  ctx: QueueContext,
  claim: StoreClaim,
  input: EnqueueInput,
  envelope: Envelope,
): Promise<void> {
  try {
    if (pending(envelope).length === 0) return;
    const prepared = await ctx.store.prepare({
      ...newEnvelope(ctx, input),
      raw: input.raw,
      envelope,
    });
    await prepared.commit();
  } catch (error) {
    await ctx.store.discard(claim).catch(() => {});
    throw error;
  }
}
