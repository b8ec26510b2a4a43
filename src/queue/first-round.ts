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
import {
  type Claim,
  claimFirstRound,
  dropFirstRoundClaim,
  existing,
  prepareEntry,
} from './spool.ts';

/**
 * A first-round claim on a post the spool knows nothing of; undefined when it is spooled
 * already, done, or being delivered by another process.
 */
export async function claimNewPost(ctx: QueueContext, id: string): Promise<Claim | undefined> {
  await ctx.ready();
  const before = await existing(ctx.layout, id);
  return before ? undefined : claimFirstRound(ctx.layout, id);
}

/** Sends a new post's first round under `claim`; spools what is left, then drops the claim. */
export async function firstRound(
  ctx: QueueContext,
  claim: Claim,
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
    await dropFirstRoundClaim(claim);
    return {
      outcome,
      results: queuedBecause(asResults(envelope, ctx.distributor), describeError(error)),
    };
  }
  crashPoint('queue.before-envelope-update');
  await spoolLeftOver(ctx, claim, input, envelope);
  crashPoint('queue.before-unlink');
  await dropFirstRoundClaim(claim);
  return { outcome, results: roundResults(ctx, envelope, round) };
}

/**
 * Spools the recipients still pending (none: nothing is written). When that fails the
 * claim is dropped too: the post is still at its source, the next try starts over.
 */
async function spoolLeftOver(
  ctx: QueueContext,
  claim: Claim,
  input: EnqueueInput,
  envelope: Envelope,
): Promise<void> {
  try {
    if (pending(envelope).length === 0) return;
    const prepared = await prepareEntry(ctx.layout, {
      ...newEnvelope(ctx, input),
      raw: input.raw,
      envelope,
    });
    await prepared.commit();
  } catch (error) {
    await dropFirstRoundClaim(claim).catch(() => {});
    throw error;
  }
}
