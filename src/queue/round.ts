/**
 * One delivery round of a claimed entry: settle what the sent-log already knows, expire or
 * send to the due recipients (each transaction's answers appended to the sent-log at
 * once), dead-letter those given up on, then update the envelope and finish or release
 * the claim.
 */
import { rm } from 'node:fs/promises';
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
import { readSentLog, SentLogWriter } from './sent-log.ts';
import {
  type Claim,
  claimEntry,
  finishClaim,
  readDoneRecord,
  readEnvelope,
  readMessage,
  releaseClaim,
  sentLogPath,
  writeEnvelope,
} from './spool.ts';

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
  const claim = await claimEntry(ctx.layout, id);
  if (!claim) {
    const done = await readDoneRecord(ctx.layout, id);
    return done ? asResults(done, ctx.distributor) : undefined;
  }
  const { envelope, round } = await deliverClaim(ctx, claim, force);
  return roundResults(ctx, envelope, round);
}

/** One delivery round for a claimed entry; always releases or finishes the claim. */
export async function deliverClaim(
  ctx: QueueContext,
  claim: Claim,
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
    const finished = pending(envelope).length === 0;
    // A finished entry's envelope goes to its done record; the copy in the claim would be
    // removed at once. It is written first only when the round gave up on someone, so a
    // crash before the done record does not repeat their notice.
    if (!finished || failed > 0) await writeEnvelope(claim.dir, envelope);
    if (finished) await finishClaim(ctx.layout, claim);
    else await releaseClaim(ctx.layout, claim);
    return { envelope, round };
  } catch (error) {
    // The sent-log already holds what the server settled; the rest is tried again later.
    await releaseClaim(ctx.layout, claim).catch(() => {});
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
  claim: Claim,
  fresh: FreshEntry | undefined,
): Promise<FreshEntry | { done: Envelope }> {
  try {
    const envelope = fresh?.envelope ?? (await readEnvelope(claim.dir));
    const raw = fresh?.raw ?? (await readMessage(claim.dir));
    return { envelope, raw };
  } catch (error) {
    // A runner that died between moving the envelope to its done record and removing
    // the claim left the rest of a finished entry.
    const done = await readDoneRecord(ctx.layout, claim.id).catch(() => undefined);
    if (done) {
      await rm(claim.dir, { recursive: true, force: true });
      return { done };
    }
    await releaseClaim(ctx.layout, claim).catch(() => {});
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
  claim: Claim,
  envelope: Envelope,
  raw: Buffer,
  force: boolean,
): Promise<{ round: RecipientResult[]; failed: number }> {
  const logPath = sentLogPath(ctx.layout, claim.id);
  const round: RecipientResult[] = [];
  // Refusals a crashed round logged but never dead-lettered are owed their notice now.
  const owed = applySettled(envelope, await readSentLog(logPath, ctx.distributor));
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
      const results = await sendLogged(ctx, logPath, envelope, raw, batch);
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
  logPath: string,
  envelope: Envelope,
  raw: Buffer,
  batch: string[],
): Promise<RecipientResult[]> {
  const log = new SentLogWriter(logPath, {
    id: envelope.id,
    ...(envelope.message_id ? { message_id: envelope.message_id } : {}),
    ...(envelope.list ? { list: envelope.list } : {}),
  });
  const entry = { id: envelope.id, ...(envelope.list ? { list: envelope.list } : {}) };
  const personalise = ctx.deps.personalise?.(entry, raw);
  const senderFor = ctx.deps.sender?.({ ...entry, sender: envelope.sender });
  // Appends are chained: transactions finish concurrently, the log stays whole.
  let chain = Promise.resolve();
  try {
    const results = await ctx.deps.transport.send({
      from: envelope.sender,
      to: batch,
      raw,
      ...(personalise ? { personalise } : {}),
      ...(senderFor ? { senderFor } : {}),
      ...(envelope.message_id ? { messageId: envelope.message_id } : {}),
      onTransaction: (settled) => {
        chain = chain.then(async () => {
          crashPoint('queue.after-smtp-reply');
          await log.append(settled, ctx.now());
          crashPoint('queue.after-sent-log');
        });
        return chain;
      },
    });
    await chain;
    return results;
  } finally {
    await chain.catch(() => {});
    await log.close();
  }
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
