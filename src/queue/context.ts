/**
 * What every step of the queue works with: the store, the options resolved once, the
 * dependencies. The steps (first round, delivery round, spool run, dead letters) are
 * module-level functions taking this record, so each can be read on its own.
 */
import type { RecipientResult, StageFailure } from '../types.ts';
import type { NewEnvelope } from './envelope.ts';
import type { EnqueueInput, QueueDeps, QueueOptions } from './queue.ts';
import type { RetryPolicy } from './retry-policy.ts';
import type { QueueStore } from './store.ts';

/** The unit name on the queue's errors and notices. */
export const UNIT = 'queue';

export interface QueueContext {
  /** Where the entries, claims, sent-logs, done records and dead letters are (store.ts). */
  readonly store: QueueStore;
  readonly deps: QueueDeps;
  readonly now: () => number;
  readonly retry: RetryPolicy;
  /** Seconds after spooling that a pending recipient is given up on. */
  readonly expireAfter: number;
  /** How long a pending recipient waits before it needs the operator, ms. */
  readonly alertAfter: number;
  /** How long done records and sent-logs are kept, ms. */
  readonly keepDone: number;
  readonly deliverNow: boolean;
  /** The transport's name, on every result. */
  readonly distributor: string;
  /** Readies the store on first use (once per queue). */
  ready(): Promise<void>;
}

export function queueContext(
  options: QueueOptions,
  deps: QueueDeps,
  store: QueueStore,
): QueueContext {
  return {
    store,
    deps,
    now: deps.now ?? Date.now,
    retry: options.retry ?? {},
    expireAfter: options.expire_after_seconds ?? 432_000,
    keepDone: (options.keep_done_seconds ?? 604_800) * 1000,
    alertAfter: durationSeconds(options.alert_after ?? 3600) * 1000,
    deliverNow: options.deliver_now ?? true,
    distributor: deps.transport.name,
    ready: () => store.ready(),
  };
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** Seconds of `90`, `'90s'`, `'30m'`, `'1h'`, `'2d'` (the schema checked the form). */
export function durationSeconds(value: number | string): number {
  if (typeof value === 'number') return value;
  const match = /^(\d+(?:\.\d+)?)\s*([smhd]?)$/.exec(value.trim());
  if (!match) throw new Error(`not a duration: ${value} (expected 90s, 30m, 1h or 2d)`);
  return Number(match[1]) * (UNIT_SECONDS[match[2] || 's'] ?? 1);
}

/** What the spool records of an enqueued post, as of now. */
export function newEnvelope(ctx: QueueContext, input: EnqueueInput): NewEnvelope {
  return {
    id: input.id,
    sender: input.sender,
    recipients: input.recipients,
    ...(input.more ? { more: input.more } : {}),
    ...(input.list ? { list: input.list } : {}),
    ...(input.messageId ? { messageId: input.messageId } : {}),
    ...(input.key ? { key: input.key } : {}),
    ...(input.seal ? { seal: input.seal } : {}),
    now: ctx.now(),
  };
}

/** Results still `queued` carry `why` nothing went out now (server down, TLS, AUTH). */
export function queuedBecause(results: RecipientResult[], why: string): RecipientResult[] {
  return results.map((r) => (r.status === 'queued' ? { ...r, response: r.response ?? why } : r));
}

/** Tells every reactor and `onFailure` of `failure`; one that throws hides none of the others. */
export async function tellFailure(ctx: QueueContext, failure: StageFailure): Promise<void> {
  for (const reactor of ctx.deps.reactors ?? []) {
    try {
      await reactor.react(failure);
    } catch {}
  }
  try {
    await ctx.deps.onFailure?.(failure);
  } catch {}
}
