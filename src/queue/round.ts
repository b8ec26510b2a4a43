/**
 * One delivery round of a claimed entry: settle what the sent-log already knows, expire or
 * send to the due recipients (each transaction's answers appended to the sent-log at
 * once), dead-letter those given up on, then update the envelope and finish or release
 * the claim.
 */
import { ErrorCode, StageError } from '../errors.ts';
import { crashPoint } from '../testing/crash-point.ts';
import type { RecipientResult } from '../types.ts';
import { type QueueContext, UNIT } from './context.ts';
import { type GiveUpReason, giveUp } from './dead-letter.ts';
import {
  applyRound,
  applySettled,
  asResults,
  due,
  type Envelope,
  failPending,
  pending,
  type RecipientRecord,
} from './envelope.ts';
import { isExpired } from './retry-policy.ts';
import { sendCopies } from './signing.ts';
import type { StoreClaim } from './store.ts';

/** An entry as just written by this process: read from memory, not again from disk. */
export interface FreshEntry {
  envelope: Envelope;
  raw: Buffer;
}

/** `queue.deliver`: claims and delivers one entry now; undefined when it is unknown. */
export async function deliverEntry(
  ctx: QueueContext,
  id: string,
  force: boolean,
): Promise<RecipientResult[] | undefined> {
  await ctx.ready();
  const claim = await ctx.store.claim(id, force ? {} : { dueBy: ctx.now() });
  if (!claim) {
    const known = (await ctx.store.readDone(id)) ?? (await ctx.store.view(id));
    return known ? asResults(known, ctx.distributor) : undefined;
  }
  const { envelope, round } = await deliverAll(ctx, claim, force);
  return roundResults(ctx, envelope, round);
}

/**
 * Delivers a claim and, on a store that claims recipients in batches, each further batch
 * of the entry it can claim; the whole entry's envelope at the end with every round's
 * answers. Several workers may work on one entry at once: each gets other batches.
 */
export async function deliverAll(
  ctx: QueueContext,
  first: StoreClaim,
  force: boolean,
  fresh?: FreshEntry,
  /** Claim every pending recipient, due or not (an expired entry gives them all up). */
  every = force,
): Promise<{ envelope: Envelope; round: RecipientResult[]; claims: number }> {
  let claim: StoreClaim | undefined = first;
  const started = ctx.now();
  let last = await deliverClaim(ctx, first, force, fresh);
  const round = [...last.round];
  let claims = 1;
  while (claim?.partial) {
    claim = await ctx.store.claim(claim.id, {
      ...(every ? {} : { dueBy: ctx.now() }),
      untriedSince: started,
    });
    if (!claim) break;
    last = await deliverClaim(ctx, claim, force);
    round.push(...last.round);
    claims++;
  }
  if (!first.partial) return { envelope: last.envelope, round, claims };
  const whole = (await ctx.store.view(first.id)) ?? last.envelope;
  return { envelope: whole, round, claims };
}

/** One delivery round for a claimed entry; always releases or finishes the claim. */
export async function deliverClaim(
  ctx: QueueContext,
  claim: StoreClaim,
  force: boolean,
  fresh?: FreshEntry,
): Promise<{ envelope: Envelope; round: RecipientResult[] }> {
  const entry = await openClaim(ctx, claim, fresh);
  if ('done' in entry) return { envelope: entry.done, round: [] };
  const { envelope, raw } = entry;
  try {
    const { round, failed } = await runRound(ctx, claim, envelope, raw, force);
    await reportDelivered(ctx, envelope, round);
    crashPoint('queue.before-envelope-update');
    await ctx.store.settle(claim, envelope, failed);
    return { envelope, round };
  } catch (error) {
    // The sent-log already holds what the server settled; the rest is tried again later.
    await ctx.store.release(claim).catch(() => {});
    throw error;
  }
}

/** Tells `onDelivered` who this round delivered to; its failure is not the round's. */
async function reportDelivered(
  ctx: QueueContext,
  envelope: Envelope,
  round: RecipientResult[],
): Promise<void> {
  const recipients = round.filter((r) => r.status === 'delivered').map((r) => r.recipient);
  if (!ctx.deps.onDelivered || recipients.length === 0) return;
  try {
    await ctx.deps.onDelivered({
      entryId: envelope.id,
      ...(envelope.list ? { list: envelope.list } : {}),
      ...(envelope.message_id ? { messageId: envelope.message_id } : {}),
      recipients,
    });
  } catch {
    // The sent index is a help for bounce attribution, never a reason to resend.
  }
}

/** The claimed entry's envelope and bytes; or its done record, its claim cleaned up. */
async function openClaim(
  ctx: QueueContext,
  claim: StoreClaim,
  fresh: FreshEntry | undefined,
): Promise<FreshEntry | { done: Envelope }> {
  try {
    if (fresh) return fresh;
    return await ctx.store.read(claim);
  } catch (error) {
    // A runner that died between moving the envelope to its done record and removing
    // the claim left the rest of a finished entry.
    const done = await ctx.store.readDone(claim.id).catch(() => undefined);
    if (done) {
      await ctx.store.discard(claim);
      return { done };
    }
    await ctx.store.release(claim).catch(() => {});
    throw new StageError(`queue entry ${claim.id} is unreadable; it stays in the spool`, {
      code: ErrorCode.STORAGE,
      unit: UNIT,
      cause: error,
    });
  }
}

/**
 * Sends to the due recipients of a claimed entry and applies the answers to `envelope`:
 * the sent-log first settles what a crashed round already got an answer for; each
 * transaction's outcomes go to the sent-log at once; those given up on get their dead
 * letter and notice. Returns this round's results and how many were given up on.
 */
export async function runRound(
  ctx: QueueContext,
  claim: StoreClaim,
  envelope: Envelope,
  raw: Buffer,
  force: boolean,
): Promise<{ round: RecipientResult[]; failed: number }> {
  const round: RecipientResult[] = [];
  // Refusals a crashed round logged but never dead-lettered are owed their notice now.
  const owed = applySettled(envelope, await ctx.store.sentLog(claim, ctx.distributor));
  if (owed.length > 0) await giveUp(ctx, claim, envelope, owed, raw, 'refused');
  const started = ctx.now();
  let failed: RecipientRecord[] = [];
  let reason: GiveUpReason = 'refused';
  if (pending(envelope).length > 0 && isExpired(envelope.created, started, ctx.expireAfter)) {
    reason = 'expired';
    failed = failPending(envelope, `expired: not delivered within ${ctx.expireAfter} s`);
  } else {
    const batch = due(envelope, started, force).map((r) => r.address);
    if (batch.length > 0) {
      const results = await sendLogged(ctx, claim, envelope, raw, batch);
      if (ctx.store.held?.(claim) === false) throw claimLost(claim, envelope);
      round.push(...results);
      failed = applyRound(envelope, results, ctx.now(), ctx.retry);
    }
  }
  // The dead letter and the notice come before the envelope says `failed`: a crash in
  // between repeats the notice rather than losing the dead letter.
  await giveUp(ctx, claim, envelope, failed, raw, reason);
  return { round, failed: failed.length };
}

/** Sends `batch` through the transport, each transaction's answers appended to the sent-log. */
async function sendLogged(
  ctx: QueueContext,
  claim: StoreClaim,
  envelope: Envelope,
  raw: Buffer,
  batch: string[],
): Promise<RecipientResult[]> {
  const log = ctx.store.sentLogAppender(claim, {
    id: envelope.id,
    ...(envelope.message_id ? { message_id: envelope.message_id } : {}),
    ...(envelope.list ? { list: envelope.list } : {}),
  });
  const entry = { id: envelope.id, ...(envelope.list ? { list: envelope.list } : {}) };
  const senderFor = ctx.deps.sender?.({ ...entry, sender: envelope.sender });
  // A claim lost with its lease sends nobody more: another worker may be sending the rest.
  const stopped = ctx.store.held ? () => ctx.store.held?.(claim) === false : undefined;
  // Appends are chained: transactions finish concurrently, the log stays whole.
  let chain = Promise.resolve();
  try {
    const results = await sendCopies(ctx, envelope, raw, batch, (to, copy) =>
      ctx.deps.transport.send({
        from: envelope.sender,
        to,
        raw: 'raw' in copy ? copy.raw : raw,
        ...('personalise' in copy ? { personalise: copy.personalise } : {}),
        ...(senderFor ? { senderFor } : {}),
        ...(envelope.message_id ? { messageId: envelope.message_id } : {}),
        ...(stopped ? { stopped } : {}),
        onTransaction: (settled) => {
          chain = chain.then(async () => {
            crashPoint('queue.after-smtp-reply');
            await log.append(settled, ctx.now());
            crashPoint('queue.after-sent-log');
          });
          return chain;
        },
      }),
    );
    await chain;
    return results;
  } finally {
    await chain.catch(() => {});
    await log.close();
  }
}

/**
 * The round's claim was lost while it sent (its lease's database session ended): what the
 * server answered is in the sent-log; the rest is left to whoever has the claim now.
 */
function claimLost(claim: StoreClaim, envelope: Envelope): StageError {
  return new StageError(
    `queue entry ${claim.id} was abandoned mid-round: this process lost its claim (its database lease ended); the recipients not yet sent are another worker's now or wait for the next run`,
    {
      code: ErrorCode.STORAGE,
      unit: UNIT,
      ...(envelope.message_id ? { messageId: envelope.message_id } : {}),
      temporary: true,
    },
  );
}

/**
 * What a caller is told after a round: every recipient's state, a deferred one `queued`
 * (the queue owns it now) with the server's answer of this round.
 */
export function roundResults(
  ctx: QueueContext,
  envelope: Envelope,
  round: RecipientResult[],
): RecipientResult[] {
  const fresh = new Map(round.map((r) => [r.recipient.toLowerCase(), r]));
  return asResults(envelope, ctx.distributor).map((r) => {
    const answer = fresh.get(r.recipient.toLowerCase());
    if (r.status === 'queued' && answer)
      return { ...r, code: answer.code, response: answer.response };
    return r;
  });
}
