/**
 * The durable queue: enqueue an entry, deliver it at once when the server is up, retry the
 * deferred recipients (only those) with backoff, dead-letter refused and expired ones with
 * a notice, and never send a recipient twice — across crashes, retries and runners.
 *
 * One delivery round of a claimed entry (`deliverClaim`, round.ts):
 *   1. the sent-log settles recipients a crashed round already got an answer for;
 *   2. an expired entry fails its pending recipients (dead letter + notice, dead-letter.ts);
 *   3. due recipients are sent; each transaction's 250s/5xx go to the sent-log at once;
 *   4. the envelope is updated; refused recipients are dead-lettered with a notice;
 *   5. the entry is finished (done record) or released for a later run.
 *
 * A post whose caller still holds it at its source (`enqueue(…, { sourceKept: true })`,
 * the queue distributor under play()) has its first round (steps 1–4) under a file claim
 * before anything is spooled (first-round.ts); only recipients left over become an entry.
 * `run()` is one pass over the spool (runner.ts); enqueue.ts hands a post over. This file
 * is the contract and the assembly: each step takes the queue's context (context.ts).
 */
import { ErrorCode, StageError } from '../errors.ts';
import type { Reactor, RecipientResult, StageFailure } from '../types.ts';
import { queueContext, UNIT } from './context.ts';
import { dropEntry } from './dead-letter.ts';
import { enqueue, prepare } from './enqueue.ts';
import type { SealContext } from './envelope.ts';
import { createFileStore } from './file-store.ts';
import type { RetryPolicy } from './retry-policy.ts';
import { deliverEntry } from './round.ts';
import { runSpool } from './runner.ts';
import type { EnqueueOutcome, SpoolEntry } from './spool.ts';
import type { QueueStore, StoredEntry } from './store.ts';
import type { Transport } from './transport.ts';

export interface QueueOptions {
  /**
   * The spool directory (created when missing); unused, and not needed, when `deps.store`
   * is given (the queue in PostgreSQL).
   */
  dir?: string;
  /** Backoff for deferred recipients. @default { initial_seconds: 60, factor: 2, max_seconds: 14400 } */
  retry?: RetryPolicy;
  /** Give up on a recipient this long after the entry was spooled, seconds. @default 432000 (5 days) */
  expire_after_seconds?: number;
  /** Keep done records and sent-logs this long, so a re-enqueue never sends again, seconds. @default 604800 (7 days) */
  keep_done_seconds?: number;
  /** Deliver a new entry in the same call that spools it. @default true */
  deliver_now?: boolean;
  /**
   * A recipient still pending this long after its entry was spooled needs the operator
   * (`malist run` exits 1 and says so): the server has been unreachable, or refusing for
   * now, for longer than a short outage. Seconds, or a duration: `90s`, `30m`, `1h`, `2d`.
   * @default 3600 (1h)
   */
  alert_after?: number | string;
}

export interface QueueDeps {
  /** Delivers the bytes (SMTP/LMTP). */
  transport: Transport;
  /**
   * Where the queue keeps its state (store.ts): the composition root picks it from
   * `storage:` in malist.yaml. @default the file spool in `options.dir`
   */
  store?: QueueStore;
  /** Reactors told about dead letters (refused or expired recipients). */
  reactors?: Reactor[];
  /** Called with every notice, after the reactors. */
  onFailure?(failure: StageFailure): void | Promise<void>;
  /**
   * Called once per recipient the queue gives up on, with what the server said: for
   * bounce records (a 5xx at a later run counts like one at once).
   */
  onRecipientFailed?(event: RecipientFailure): void | Promise<void>;
  /** The clock (ms), for tests. @default Date.now */
  now?(): number;
  /**
   * For an entry whose recipients each need their own bytes (a list's footer naming the
   * member, a personal unsubscribe URL): what makes them from the spooled bytes, or
   * undefined when everyone gets the same. Asked once per delivery round, so a retry
   * from the spool is personalised as the first round was.
   */
  personalise?(
    entry: { id: string; list?: string },
    raw: Buffer,
  ): ((recipient: string) => Buffer) | undefined;
  /**
   * For an entry whose copies are signed (a list with DKIM keys): what signs one copy's
   * bytes (and seals it under `seal`), or undefined when its copies leave as they are. The
   * spool keeps the post unsigned; each round signs what it sends: a batched round its one
   * copy once, a personalised round each member's copy after `personalise`. A signing that
   * throws (a self-check failure) defers the copies it was for, and the reactors are told;
   * nothing leaves unsigned.
   */
  signer?(entry: {
    id: string;
    list?: string;
    seal?: SealContext;
  }): ((raw: Buffer) => Promise<Buffer>) | undefined;
  /**
   * For an entry whose recipients each get their own envelope sender (a list's VERP
   * addresses with cookies): what makes it, or undefined for the entry's one sender.
   * Asked once per delivery round.
   */
  sender?(entry: {
    id: string;
    list?: string;
    sender: string;
  }): ((recipient: string) => string) | undefined;
  /**
   * Told of the recipients a later round (a queue run) delivered, for the sent index; a
   * failure here is the hook's own business and never the delivery's.
   */
  onDelivered?(event: DeliveredEvent): void | Promise<void>;
}

/** Recipients of one entry the server took (250) in one round. */
export interface DeliveredEvent {
  entryId: string;
  list?: string;
  messageId?: string;
  recipients: string[];
}

export interface RecipientFailure {
  entryId: string;
  list?: string;
  /** The ListMail key, when the entry is a list post. */
  key?: string;
  messageId?: string;
  recipient: string;
  code?: number;
  response?: string;
  /** `refused`: a 5xx; `expired`: deferred for longer than `expire_after_seconds`. */
  reason: 'refused' | 'expired';
}

export interface EnqueueInput {
  /** Entry ID; the same ID twice is one entry. @default a fresh unique ID */
  id: string;
  raw: Buffer;
  sender: string;
  recipients: string[];
  /**
   * More recipients after `recipients`, a slice at a time (`memberPages` of a big list):
   * on PostgreSQL each slice is written as it comes, so no array of every recipient is
   * built. Such an enqueue skips the first round from memory, and its `results` name only
   * the recipients a delivery at once tried (none with deliver_now off).
   */
  more?: AsyncIterable<string[]>;
  list?: string;
  messageId?: string;
  /** The ListMail key of a list post, kept for bounce records. */
  key?: string;
  /** How its copies are ARC-sealed (a list post the list verified). */
  seal?: SealContext;
}

export interface RunOptions {
  /** Try every pending recipient now, whatever its next attempt time. @default false */
  force?: boolean;
  /** Only these entries. @default all */
  ids?: string[];
}

export interface RunSummary {
  /** Entries a delivery round ran for. */
  processed: number;
  delivered: number;
  deferred: number;
  failed: number;
  /** Entries that are finished now. */
  finished: number;
  /** Stale claims of dead runners taken over. */
  reclaimed: number;
  /** Entries that could not be worked on (`id: why`); they stay in the spool. */
  errors: string[];
  /** Each delivery round of the pass: its entry's list and this round's answers. */
  rounds: Array<{ list?: string; results: RecipientResult[] }>;
}

export interface EnqueueOptions {
  deliverNow?: boolean;
  /**
   * The caller keeps the mail at its source until `enqueue` returns (play() acks after
   * it): the first round is sent before anything is spooled, and only recipients left
   * over are written to the spool. Far fewer files per post; same promises.
   */
  sourceKept?: boolean;
}

/** What `enqueue` did, and each recipient's state (a deferred one `queued`). */
export interface Enqueued {
  outcome: EnqueueOutcome;
  results: RecipientResult[];
}

export interface Queue {
  /** Its state: the file spool, or the tables on PostgreSQL. */
  readonly store: QueueStore;
  /** Where that is, for messages: the spool directory or the database (no password). */
  readonly where: string;
  /** `alert_after` in ms: how long a pending recipient may wait before it needs the operator. */
  readonly alertAfter: number;
  /**
   * Spools an entry (idempotent by ID) and, with `deliver_now` (or `options.deliverNow`),
   * delivers it at once.
   */
  enqueue(input: EnqueueInput, options?: EnqueueOptions): Promise<Enqueued>;
  /** Writes an entry that stays invisible until `commit()` (the transactional API). */
  prepare(input: EnqueueInput): Promise<StoredEntry>;
  /** Claims and delivers one entry now; the results of this round (pending ones `queued`). */
  deliver(id: string, force?: boolean): Promise<RecipientResult[] | undefined>;
  /** One pass over the spool: every due entry once, stale claims of dead runners too. */
  run(options?: RunOptions): Promise<RunSummary>;
  list(): Promise<SpoolEntry[]>;
  /** Gives up on an entry's pending recipients (dead letter, done record); or removes a dead letter. */
  drop(id: string): Promise<'dropped' | 'removed-dead-letter' | 'busy' | 'unknown'>;
  close(): Promise<void>;
}

/** Creates a queue on a store (the spool directory `options.dir` by default). */
export function createQueue(options: QueueOptions, deps: QueueDeps): Queue {
  const store = deps.store ?? createFileStore(spoolDir(options));
  const ctx = queueContext(options, deps, store);
  return {
    store,
    where: store.where,
    alertAfter: ctx.alertAfter,
    prepare: (input) => prepare(ctx, input),
    enqueue: (input, enqueueOptions = {}) => enqueue(ctx, input, enqueueOptions),
    deliver: (id, force = false) => deliverEntry(ctx, id, force),
    run: (runOptions = {}) => runSpool(ctx, runOptions),
    async list() {
      await ctx.ready();
      return store.list();
    },
    drop: (id) => dropEntry(ctx, id),
    async close() {
      try {
        await store.close();
      } finally {
        await deps.transport.close();
      }
    },
  };
}

/** The spool directory of a queue on files (the configuration checked it is there). */
function spoolDir(options: QueueOptions): string {
  if (options.dir) return options.dir;
  throw new StageError(
    'queue: no dir: for its spool; give one, or a store (storage: {type: postgres})',
    { code: ErrorCode.CONFIG, unit: UNIT },
  );
}
