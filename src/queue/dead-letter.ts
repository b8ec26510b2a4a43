/**
 * Giving up on recipients: the dead letter (message and envelope, for the operator), the
 * notice to the reactors, and one bounce event per recipient. Also the operator's `drop`.
 */
import { StageError } from '../errors.ts';
import { createListMail } from '../mail/list-mail.ts';
import { errorCodeOf, replyText } from '../mail/smtp-reply.ts';
import type { StageFailure } from '../types.ts';
import { type QueueContext, tellFailure, UNIT } from './context.ts';
import { applySettled, type Envelope, failPending, type RecipientRecord } from './envelope.ts';
import type { RecipientFailure } from './queue.ts';
import type { StoreClaim } from './store.ts';

export type GiveUpReason = RecipientFailure['reason'];

/**
 * Writes the dead letter of a claimed entry and tells everyone who listens that `failed`
 * were given up on. Listeners that throw are ignored: none hides another or stops the queue.
 */
export async function giveUp(
  ctx: QueueContext,
  claim: StoreClaim,
  envelope: Envelope,
  failed: RecipientRecord[],
  raw: Buffer,
  reason: GiveUpReason,
): Promise<void> {
  if (failed.length === 0) return;
  const deadDir = await ctx.store.writeDeadLetter(claim, envelope, raw);
  const failure = deadLetterFailure(envelope, failed, raw, deadDir);
  await tellFailure(ctx, failure);
  for (const r of failed) {
    try {
      await ctx.deps.onRecipientFailed?.(recipientFailure(envelope, r, reason));
    } catch {}
  }
}

/** The notice: who was given up on, what the server said, where the dead letter is. */
function deadLetterFailure(
  envelope: Envelope,
  failed: RecipientRecord[],
  raw: Buffer,
  deadDir: string,
): StageFailure {
  const who = failed
    .map((r) => `${r.address} (${replyText(r.code, r.response) || '-'})`)
    .join(', ');
  const error = new StageError(
    `gave up on ${failed.length} recipient(s) of queue entry ${envelope.id}` +
      `${envelope.list ? ` for list ${envelope.list}` : ''}: ${who}; the message and its ` +
      `envelope are in ${deadDir}`,
    {
      code: errorCodeOf(failed[0]?.code, failed[0]?.response),
      unit: UNIT,
      messageId: envelope.message_id,
    },
  );
  return {
    stage: 'distributor',
    unit: UNIT,
    error,
    mail: createListMail(raw, { fetcher: 'queue', id: envelope.id }),
  };
}

function recipientFailure(
  envelope: Envelope,
  r: RecipientRecord,
  reason: GiveUpReason,
): RecipientFailure {
  return {
    entryId: envelope.id,
    ...(envelope.list ? { list: envelope.list } : {}),
    ...(envelope.key ? { key: envelope.key } : {}),
    ...(envelope.message_id ? { messageId: envelope.message_id } : {}),
    recipient: r.address,
    ...(r.code !== undefined ? { code: r.code } : {}),
    ...(r.response !== undefined ? { response: r.response } : {}),
    reason,
  };
}

/** `queue.drop`: gives up on an entry's pending recipients, or removes its dead letter. */
export async function dropEntry(
  ctx: QueueContext,
  id: string,
): Promise<'dropped' | 'removed-dead-letter' | 'busy' | 'unknown'> {
  await ctx.ready();
  const claim = await ctx.store.claim(id);
  if (!claim) {
    if (await ctx.store.removeDeadLetter(id)) return 'removed-dead-letter';
    return (await ctx.store.list()).some((e) => e.id === id) ? 'busy' : 'unknown';
  }
  // On a store that claims recipients in batches, every batch claimable now.
  for (let next: StoreClaim | undefined = claim; next; ) {
    const { envelope } = await ctx.store.read(next);
    applySettled(envelope, await ctx.store.sentLog(next, ctx.distributor));
    failPending(envelope, 'dropped by the operator');
    await ctx.store.writeDeadLetter(next, envelope);
    await ctx.store.settle(next, envelope, 1);
    next = next.partial ? await ctx.store.claim(id) : undefined;
  }
  return 'dropped';
}
