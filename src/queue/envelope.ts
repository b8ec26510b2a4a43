/**
 * The JSON envelope of a spool entry: the sender and each recipient's state. The state
 * changes are pure functions; spool.ts only stores them.
 */
import type { RecipientResult } from '../types.ts';
import { type RetryPolicy, retryDelayMs } from './retry-policy.ts';

export type RecipientState = 'pending' | 'delivered' | 'failed';

/**
 * What an ARC seal of the entry's copies says (a list post the list verified): the
 * Authentication-Results value of that verification and the incoming chain's state. Kept
 * with the entry so that every round seals its copies as the first one did.
 */
export interface SealContext {
  authResults: string;
  cv: 'none' | 'pass' | 'fail';
}

export interface RecipientRecord {
  address: string;
  state: RecipientState;
  /** Attempts made for this recipient so far. */
  attempts: number;
  /** Not before this time (ms since the epoch) is the recipient tried again. */
  next_attempt: number;
  /** The last SMTP code and answer (or network error) for this recipient. */
  code?: number;
  response?: string;
  /**
   * When that answer came (ms): with the sent-log's time of the final answer, `malist
   * trace` tells a deferral from the delivery that followed it.
   */
  tried_at?: number;
}

export interface Envelope {
  version: 1;
  id: string;
  /** The list's short name, when the entry is a list post. */
  list?: string;
  message_id?: string;
  /** The ListMail key of a list post (bounce records are keyed by it). */
  key?: string;
  /** Envelope sender ('' is the null sender). */
  sender: string;
  /** When the entry was spooled (ms since the epoch): expiry counts from here. */
  created: number;
  recipients: RecipientRecord[];
  /** Delivery rounds run for this entry. */
  rounds: number;
  /** The last error that deferred a recipient, for `malist queue list`. */
  last_error?: string;
  /** How the entry's copies are ARC-sealed, when they are. */
  seal?: SealContext;
}

export interface NewEnvelope {
  id: string;
  sender: string;
  recipients: string[];
  /**
   * More recipients after `recipients`, a slice at a time (a member store's pages, for a
   * 1,000,000-member post): a store that can writes each slice as it comes and never holds
   * them all (PostgreSQL); the file spool gathers them into its one envelope file.
   */
  more?: AsyncIterable<string[]>;
  list?: string;
  messageId?: string;
  key?: string;
  seal?: SealContext;
  now: number;
}

/**
 * The pending records of `addresses`, each address once (`seen`, lower-cased, is shared by
 * the slices of one entry).
 */
export function pendingRecords(
  addresses: Iterable<string>,
  now: number,
  seen: Set<string>,
): RecipientRecord[] {
  const out: RecipientRecord[] = [];
  for (const address of addresses) {
    const key = address.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ address, state: 'pending', attempts: 0, next_attempt: now });
  }
  return out;
}

/** `input` with its `more` slices read into `recipients` (a store that keeps one envelope). */
export async function gatherRecipients<T extends NewEnvelope>(input: T): Promise<T> {
  if (!input.more) return input;
  const recipients = [...input.recipients];
  for await (const slice of input.more) for (const r of slice) recipients.push(r);
  const { more: _read, ...rest } = input;
  return { ...rest, recipients } as T;
}

export function createEnvelope(input: NewEnvelope): Envelope {
  const recipients = pendingRecords(input.recipients, input.now, new Set());
  return {
    version: 1,
    id: input.id,
    ...(input.list ? { list: input.list } : {}),
    ...(input.messageId ? { message_id: input.messageId } : {}),
    ...(input.key ? { key: input.key } : {}),
    ...(input.seal ? { seal: input.seal } : {}),
    sender: input.sender,
    created: input.now,
    recipients,
    rounds: 0,
  };
}

/** Parses an envelope file, or throws an Error naming what is wrong. */
export function parseEnvelope(text: string): Envelope {
  const value = JSON.parse(text) as Envelope;
  if (value?.version !== 1 || typeof value.id !== 'string' || !Array.isArray(value.recipients)) {
    throw new Error('not a malist queue envelope (version 1)');
  }
  return value;
}

export function pending(envelope: Envelope): RecipientRecord[] {
  return envelope.recipients.filter((r) => r.state === 'pending');
}

/** Pending recipients whose next attempt is due at `now` (all pending ones with `force`). */
export function due(envelope: Envelope, now: number, force = false): RecipientRecord[] {
  return pending(envelope).filter((r) => force || r.next_attempt <= now);
}

/** The earliest next attempt of a pending recipient, or undefined when none is pending. */
export function nextAttempt(envelope: Envelope): number | undefined {
  let next: number | undefined;
  for (const r of pending(envelope))
    if (next === undefined || r.next_attempt < next) next = r.next_attempt;
  return next;
}

/**
 * Settled outcomes (delivered/failed) override the envelope; the sent-log feeds this.
 * Returns the recipients that were pending and are failed now: a crash came between the
 * server's 5xx and the dead letter, which is still owed.
 */
export function applySettled(
  envelope: Envelope,
  settled: Map<string, RecipientResult>,
): RecipientRecord[] {
  const newlyFailed: RecipientRecord[] = [];
  for (const r of envelope.recipients) {
    const result = settled.get(r.address.toLowerCase());
    if (!result || (result.status !== 'delivered' && result.status !== 'failed')) continue;
    if (r.state === 'pending' && result.status === 'failed') newlyFailed.push(r);
    r.state = result.status;
    if (result.code !== undefined) r.code = result.code;
    if (result.response !== undefined) r.response = result.response;
  }
  return newlyFailed;
}

/**
 * Applies one round's outcomes at `now`: delivered and failed recipients are settled,
 * deferred ones wait by the retry policy. Returns the recipients that failed in this round.
 */
export function applyRound(
  envelope: Envelope,
  results: RecipientResult[],
  now: number,
  policy: RetryPolicy,
): RecipientRecord[] {
  const byAddress = new Map(results.map((r) => [r.recipient.toLowerCase(), r]));
  const failed: RecipientRecord[] = [];
  envelope.rounds++;
  for (const r of envelope.recipients) {
    const result = byAddress.get(r.address.toLowerCase());
    if (!result || r.state !== 'pending') continue;
    r.attempts++;
    r.tried_at = now;
    if (result.code !== undefined) r.code = result.code;
    else delete r.code;
    if (result.response !== undefined) r.response = result.response;
    if (result.status === 'delivered') r.state = 'delivered';
    else if (result.status === 'failed') {
      r.state = 'failed';
      failed.push(r);
    } else {
      r.next_attempt = now + retryDelayMs(r.attempts, policy);
      envelope.last_error = result.code ? `${result.response ?? ''}` : (result.response ?? '');
    }
  }
  return failed;
}

/** Gives up on every pending recipient (expiry, or an operator's drop). */
export function failPending(envelope: Envelope, reason: string): RecipientRecord[] {
  const failed = pending(envelope);
  for (const r of failed) {
    r.state = 'failed';
    r.response = r.response ? `${reason} (last answer: ${r.response})` : reason;
  }
  return failed;
}

/** The envelope's recipients as delivery results. */
export function asResults(envelope: Envelope, distributor: string): RecipientResult[] {
  return envelope.recipients.map((r) => ({
    recipient: r.address,
    status: r.state === 'pending' ? 'queued' : r.state,
    distributor,
    ...(r.code !== undefined ? { code: r.code } : {}),
    ...(r.response !== undefined ? { response: r.response } : {}),
  }));
}
