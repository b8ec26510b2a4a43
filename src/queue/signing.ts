/**
 * The copies a round sends, signed (DKIM, and ARC-sealed when the entry is a verified list
 * post) by the queue's `signer` dependency just before they go, so the signature covers
 * exactly the bytes sent, in every round:
 *
 * - a batched round (everyone gets the same bytes) signs its one copy once;
 * - a personalised round (a footer naming the member, a one-click URL) makes and signs each
 *   member's copy, a window of members at a time (the next window is signed while this one
 *   is sent; a window's copies are all the memory it holds), and the transport sends the
 *   signed bytes.
 *
 * A copy whose signing throws (a self-check failure: the signature would not verify) is not
 * sent: its recipient is deferred, retried with backoff like a 4xx, and the reactors are
 * told once per round. Nothing leaves unsigned.
 */
import { setImmediate } from 'node:timers/promises';
import { describeError, ErrorCode, StageError } from '../errors.ts';
import { createListMail } from '../mail/list-mail.ts';
import type { RecipientResult, StageFailure } from '../types.ts';
import { type QueueContext, tellFailure, UNIT } from './context.ts';
import type { Envelope } from './envelope.ts';

/** Sends `to` with shared bytes, or with each recipient's own. */
export type SendCopies = (
  to: string[],
  copy: { raw: Buffer } | { personalise(recipient: string): Buffer },
) => Promise<RecipientResult[]>;

/** Bytes of personal copies a window holds at most (and never more than 256 copies). */
const WINDOW_BYTES = 16 * 1024 * 1024;
const WINDOW_COPIES = 256;
/** Copies signed between two turns of the event loop (~4 ms of CPU with ed25519 and the self-check). */
const SLICE = 8;

/** Sends the round's copies through `send`, signed when the entry's copies are. */
export async function sendCopies(
  ctx: QueueContext,
  envelope: Envelope,
  raw: Buffer,
  batch: string[],
  send: SendCopies,
): Promise<RecipientResult[]> {
  const entry = { id: envelope.id, ...(envelope.list ? { list: envelope.list } : {}) };
  const personalise = ctx.deps.personalise?.(entry, raw);
  const sign = ctx.deps.signer?.({ ...entry, ...(envelope.seal ? { seal: envelope.seal } : {}) });
  if (!sign) return send(batch, personalise ? { personalise } : { raw });
  if (!personalise) {
    let signed: Buffer;
    try {
      signed = await sign(raw);
    } catch (error) {
      return notSigned(ctx, envelope, raw, batch, error);
    }
    return send(batch, { raw: signed });
  }
  return sendPersonalSigned(ctx, envelope, raw, batch, send, (r) => sign(personalise(r)));
}

/** Personal copies, a window at a time: the next window is signed while one is sent. */
async function sendPersonalSigned(
  ctx: QueueContext,
  envelope: Envelope,
  raw: Buffer,
  batch: string[],
  send: SendCopies,
  signCopy: (recipient: string) => Promise<Buffer>,
): Promise<RecipientResult[]> {
  const size = Math.max(1, Math.min(WINDOW_COPIES, Math.floor(WINDOW_BYTES / (raw.length + 1))));
  const windows: string[][] = [];
  for (let i = 0; i < batch.length; i += size) windows.push(batch.slice(i, i + size));
  // Started a slice at a time, with a turn of the event loop between slices: a signer on
  // this thread signs synchronously, and a whole window at once would stall every SMTP
  // connection (their replies, the sent-log's fsyncs) for the window's CPU time. So the next
  // window is signed in the gaps while this one is sent.
  const signWindow = async (to: string[]) => {
    const copies: Array<Promise<[string, Buffer | Error]>> = [];
    for (let i = 0; i < to.length; i += SLICE) {
      if (i > 0) await setImmediate();
      for (const r of to.slice(i, i + SLICE))
        copies.push(
          signCopy(r).then(
            (copy): [string, Buffer | Error] => [r, copy],
            (error: unknown): [string, Buffer | Error] => [r, asError(error)],
          ),
        );
    }
    return Promise.all(copies);
  };
  const results: RecipientResult[] = [];
  let firstFailure: Error | undefined;
  const failures: string[] = [];
  let next = windows.length > 0 ? signWindow(windows[0]!) : undefined;
  for (let w = 0; next; w++) {
    const signed = new Map(await next);
    next = w + 1 < windows.length ? signWindow(windows[w + 1]!) : undefined;
    const ready: string[] = [];
    for (const [recipient, copy] of signed) {
      if (copy instanceof Error) {
        firstFailure ??= copy;
        failures.push(recipient);
      } else ready.push(recipient);
    }
    if (ready.length > 0)
      results.push(...(await send(ready, { personalise: (r) => signed.get(r) as Buffer })));
  }
  if (firstFailure) results.push(...(await notSigned(ctx, envelope, raw, failures, firstFailure)));
  return results;
}

/** `to` deferred because their copy could not be signed; the reactors are told once. */
async function notSigned(
  ctx: QueueContext,
  envelope: Envelope,
  raw: Buffer,
  to: string[],
  cause: unknown,
): Promise<RecipientResult[]> {
  const why = `not sent: ${describeError(cause)}`;
  const error = new StageError(
    `${to.length} copy(ies) of queue entry ${envelope.id}${envelope.list ? ` for list ${envelope.list}` : ''} could not be signed and were deferred (${to.slice(0, 3).join(', ')}${to.length > 3 ? ', …' : ''}): ${describeError(cause)}`,
    {
      code: ErrorCode.SIGNATURE,
      unit: UNIT,
      messageId: envelope.message_id,
      cause,
      temporary: true,
    },
  );
  const failure: StageFailure = {
    stage: 'distributor',
    unit: UNIT,
    error,
    mail: createListMail(raw, { fetcher: 'queue', id: envelope.id }),
  };
  await tellFailure(ctx, failure);
  return to.map((recipient) => ({
    recipient,
    status: 'deferred' as const,
    distributor: ctx.distributor,
    response: why,
  }));
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
