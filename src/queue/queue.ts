/**
 * The durable queue: enqueue an entry, deliver it at once when the server is up, retry the
 * deferred recipients (only those) with backoff, dead-letter refused and expired ones with
 * a notice, and never send a recipient twice — across crashes, retries and runners.
 *
 * One delivery round of a claimed entry (`deliverClaim`):
 *   1. the sent-log settles recipients a crashed round already got an answer for;
 *   2. an expired entry fails its pending recipients (dead letter + notice);
 *   3. due recipients are sent; each transaction's 250s/5xx go to the sent-log at once;
 *   4. the envelope is updated; refused recipients are dead-lettered with a notice;
 *   5. the entry is finished (done record) or released for a later run.
 *
 * A post whose caller still holds it at its source (`enqueue(…, { sourceKept: true })`,
 * the queue distributor under play()) has its first round (steps 1–4) under a file claim
 * before anything is spooled (`firstRound`); only recipients left over become an entry.
 */
import { rm } from 'node:fs/promises';
import { describeError, ErrorCode, StageError } from '../errors.ts';
import { createListMail } from '../mail/list-mail.ts';
import { crashPoint } from '../testing/crash-point.ts';
import type { Reactor, RecipientResult, StageFailure } from '../types.ts';
import {
  applyRound,
  applySettled,
  asResults,
  createEnvelope,
  due,
  type Envelope,
  failPending,
  type NewEnvelope,
  nextAttempt,
  pending,
  type RecipientRecord,
} from './envelope.ts';
import { isExpired, type RetryPolicy } from './retry-policy.ts';
import { readSentLog, SentLogWriter } from './sent-log.ts';
import {
  type Claim,
  claimEntry,
  claimFirstRound,
  dropFirstRoundClaim,
  type EnqueueOutcome,
  ensureSpool,
  existing,
  finishClaim,
  listSpool,
  type PreparedEntry,
  peekEnvelope,
  prepareEntry,
  purgeSpool,
  readDoneRecord,
  readEnvelope,
  readMessage,
  reclaimEntry,
  releaseClaim,
  removeDeadLetter,
  removeHolderFile,
  type SpoolEntry,
  type SpoolLayout,
  sentLogPath,
  spoolLayout,
  staleClaims,
  waitingIds,
  writeDeadLetter,
  writeEnvelope,
} from './spool.ts';
import type { Transport } from './transport.ts';

export interface QueueOptions {
  /** The spool directory (created when missing). */
  dir: string;
  /** Backoff for deferred recipients. @default { initial_seconds: 60, factor: 2, max_seconds: 14400 } */
  retry?: RetryPolicy;
  /** Give up on a recipient this long after the entry was spooled, seconds. @default 432000 (5 days) */
  expire_after_seconds?: number;
  /** Keep done records and sent-logs this long, so a re-enqueue never sends again, seconds. @default 604800 (7 days) */
  keep_done_seconds?: number;
  /** Deliver a new entry in the same call that spools it. @default true */
  deliver_now?: boolean;
}

export interface QueueDeps {
  /** Delivers the bytes (SMTP/LMTP). */
  transport: Transport;
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
  list?: string;
  messageId?: string;
  /** The ListMail key of a list post, kept for bounce records. */
  key?: string;
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
}

export interface Queue {
  readonly layout: SpoolLayout;
  /**
   * Spools an entry (idempotent by ID) and, with `deliver_now` (or `options.deliverNow`),
   * delivers it at once.
   */
  enqueue(
    input: EnqueueInput,
    options?: {
      deliverNow?: boolean;
      /**
       * The caller keeps the mail at its source until this returns (play() acks after
       * it): the first round is sent before anything is spooled, and only recipients
       * left over are written to the spool. Far fewer files per post; same promises.
       */
      sourceKept?: boolean;
    },
  ): Promise<{ outcome: EnqueueOutcome; results: RecipientResult[] }>;
  /** Writes an entry that stays invisible until `commit()` (the transactional API). */
  prepare(input: EnqueueInput): Promise<PreparedEntry>;
  /** Claims and delivers one entry now; the results of this round (pending ones `queued`). */
  deliver(id: string, force?: boolean): Promise<RecipientResult[] | undefined>;
  /** One pass over the spool: every due entry once, stale claims of dead runners too. */
  run(options?: RunOptions): Promise<RunSummary>;
  list(): Promise<SpoolEntry[]>;
  /** Gives up on an entry's pending recipients (dead letter, done record); or removes a dead letter. */
  drop(id: string): Promise<'dropped' | 'removed-dead-letter' | 'busy' | 'unknown'>;
  close(): Promise<void>;
}

const UNIT = 'queue';

/** Creates a queue on a spool directory. */
export function createQueue(options: QueueOptions, deps: QueueDeps): Queue {
  const layout = spoolLayout(options.dir);
  const now = deps.now ?? Date.now;
  const retry = options.retry ?? {};
  const expireAfter = options.expire_after_seconds ?? 432_000;
  const keepDone = (options.keep_done_seconds ?? 604_800) * 1000;
  const deliverNow = options.deliver_now ?? true;
  const distributor = deps.transport.name;
  let ready: Promise<void> | undefined;
  const init = () => {
    ready ??= ensureSpool(layout);
    return ready;
  };

  const notify = async (
    claim: Claim,
    envelope: Envelope,
    failed: RecipientRecord[],
    raw: Buffer,
    reason: 'refused' | 'expired',
  ) => {
    if (failed.length === 0) return;
    const deadDir = await writeDeadLetter(layout, claim, envelope, raw);
    const who = failed.map((r) => `${r.address} (${r.code ?? '-'} ${r.response ?? ''})`).join(', ');
    const error = new StageError(
      `gave up on ${failed.length} recipient(s) of queue entry ${envelope.id}` +
        `${envelope.list ? ` for list ${envelope.list}` : ''}: ${who}; the message and its ` +
        `envelope are in ${deadDir}`,
      {
        code: failed.some((r) => (r.code ?? 0) >= 500) ? ErrorCode.ENVELOPE : ErrorCode.CONNECTION,
        unit: UNIT,
        messageId: envelope.message_id,
      },
    );
    const failure: StageFailure = {
      stage: 'distributor',
      unit: UNIT,
      error,
      mail: createListMail(raw, { fetcher: 'queue', id: envelope.id }),
    };
    // A failing reactor never hides the others, nor stops the queue.
    for (const reactor of deps.reactors ?? []) {
      try {
        await reactor.react(failure);
      } catch {}
    }
    try {
      await deps.onFailure?.(failure);
    } catch {}
    for (const r of failed) {
      try {
        await deps.onRecipientFailed?.({
          entryId: envelope.id,
          ...(envelope.list ? { list: envelope.list } : {}),
          ...(envelope.key ? { key: envelope.key } : {}),
          ...(envelope.message_id ? { messageId: envelope.message_id } : {}),
          recipient: r.address,
          ...(r.code !== undefined ? { code: r.code } : {}),
          ...(r.response !== undefined ? { response: r.response } : {}),
          reason,
        });
      } catch {}
    }
  };

  /** One delivery round for a claimed entry; always releases or finishes the claim. */
  const deliverClaim = async (
    claim: Claim,
    force: boolean,
    /** The entry as just written by this process: read from memory, not again from disk. */
    fresh?: { envelope: Envelope; raw: Buffer },
  ): Promise<{ envelope: Envelope; round: RecipientResult[] }> => {
    let envelope: Envelope;
    let raw: Buffer;
    try {
      envelope = fresh?.envelope ?? (await readEnvelope(claim.dir));
      raw = fresh?.raw ?? (await readMessage(claim.dir));
    } catch (error) {
      // A runner that died between moving the envelope to its done record and removing
      // the claim left the rest of a finished entry.
      const done = await readDoneRecord(layout, claim.id).catch(() => undefined);
      if (done) {
        await rm(claim.dir, { recursive: true, force: true });
        return { envelope: done, round: [] };
      }
      await releaseClaim(layout, claim).catch(() => {});
      throw new StageError(`queue entry ${claim.id} is unreadable; it stays in the spool`, {
        code: ErrorCode.STORAGE,
        unit: UNIT,
        cause: error,
      });
    }
    try {
      const { round, failed } = await runRound(claim, envelope, raw, force);
      crashPoint('queue.before-envelope-update');
      const finished = pending(envelope).length === 0;
      // A finished entry's envelope goes to its done record; the copy in the claim would be
      // removed at once. It is written first only when the round gave up on someone, so a
      // crash before the done record does not repeat their notice.
      if (!finished || failed > 0) await writeEnvelope(claim.dir, envelope);
      if (finished) await finishClaim(layout, claim);
      else await releaseClaim(layout, claim);
      return { envelope, round };
    } catch (error) {
      // The sent-log already holds what the server settled; the rest is tried again later.
      await releaseClaim(layout, claim).catch(() => {});
      throw error;
    }
  };

  /**
   * Sends to the due recipients of a claimed entry and applies the answers to `envelope`:
   * the sent-log first settles what a crashed round already got an answer for; each
   * transaction's outcomes go to the sent-log at once; those given up on get their dead
   * letter and notice. Returns this round's results and how many were given up on.
   */
  const runRound = async (
    claim: Claim,
    envelope: Envelope,
    raw: Buffer,
    force: boolean,
  ): Promise<{ round: RecipientResult[]; failed: number }> => {
    const logPath = sentLogPath(layout, claim.id);
    const round: RecipientResult[] = [];
    // Refusals a crashed round logged but never dead-lettered are owed their notice now.
    const owed = applySettled(envelope, await readSentLog(logPath, distributor));
    if (owed.length > 0) await notify(claim, envelope, owed, raw, 'refused');
    const started = now();
    let failed: RecipientRecord[] = [];
    let reason: 'refused' | 'expired' = 'refused';
    if (pending(envelope).length > 0 && isExpired(envelope.created, started, expireAfter)) {
      reason = 'expired';
      failed = failPending(envelope, `expired: not delivered within ${expireAfter} s`);
    } else {
      const batch = due(envelope, started, force).map((r) => r.address);
      if (batch.length > 0) {
        const log = new SentLogWriter(logPath, {
          id: envelope.id,
          ...(envelope.message_id ? { message_id: envelope.message_id } : {}),
          ...(envelope.list ? { list: envelope.list } : {}),
        });
        const personalise = deps.personalise?.(
          { id: envelope.id, ...(envelope.list ? { list: envelope.list } : {}) },
          raw,
        );
        // Appends are chained: transactions finish concurrently, the log stays whole.
        let chain = Promise.resolve();
        let results: RecipientResult[];
        try {
          results = await deps.transport.send({
            from: envelope.sender,
            to: batch,
            raw,
            ...(personalise ? { personalise } : {}),
            ...(envelope.message_id ? { messageId: envelope.message_id } : {}),
            onTransaction: (settled) => {
              chain = chain.then(async () => {
                crashPoint('queue.after-smtp-reply');
                await log.append(settled, now());
                crashPoint('queue.after-sent-log');
              });
              return chain;
            },
          });
          await chain;
        } finally {
          await chain.catch(() => {});
          await log.close();
        }
        round.push(...results);
        failed = applyRound(envelope, results, now(), retry);
      }
    }
    // The dead letter and the notice come before the envelope says `failed`: a crash in
    // between repeats the notice rather than losing the dead letter.
    await notify(claim, envelope, failed, raw, reason);
    return { round, failed: failed.length };
  };

  /** What the spool records of an enqueued post, as of now. */
  const described = (input: EnqueueInput): NewEnvelope => ({
    id: input.id,
    sender: input.sender,
    recipients: input.recipients,
    ...(input.list ? { list: input.list } : {}),
    ...(input.messageId ? { messageId: input.messageId } : {}),
    ...(input.key ? { key: input.key } : {}),
    now: now(),
  });

  /**
   * The first round of a post its caller still holds at its source (play() acks it only
   * after this returns): delivered from memory under a file claim, and only what is left
   * (deferred recipients) is written to the spool. A crash before then leaves the post at
   * its source; the next try reads the sent-log and sends only to those it lacks.
   */
  const firstRound = async (
    claim: Claim,
    input: EnqueueInput,
  ): Promise<{ outcome: EnqueueOutcome; results: RecipientResult[] }> => {
    const envelope = createEnvelope(described(input));
    const outcome: EnqueueOutcome = { id: input.id, status: 'queued' };
    const spoolLeft = async () => {
      if (pending(envelope).length === 0) return;
      const prepared = await prepareEntry(layout, {
        ...described(input),
        raw: input.raw,
        envelope,
      });
      await prepared.commit();
    };
    let round: RecipientResult[];
    try {
      ({ round } = await runRound(claim, envelope, input.raw, false));
    } catch (error) {
      // Nothing is known beyond the sent-log: every recipient still pending is spooled.
      try {
        await spoolLeft();
      } catch (spoolError) {
        await dropFirstRoundClaim(claim).catch(() => {});
        throw spoolError;
      }
      await dropFirstRoundClaim(claim);
      const why = describeError(error);
      return {
        outcome,
        results: asResults(envelope, distributor).map((r) =>
          r.status === 'queued' ? { ...r, response: r.response ?? why } : r,
        ),
      };
    }
    crashPoint('queue.before-envelope-update');
    try {
      await spoolLeft();
    } catch (error) {
      await dropFirstRoundClaim(claim).catch(() => {});
      throw error;
    }
    crashPoint('queue.before-unlink');
    await dropFirstRoundClaim(claim);
    return { outcome, results: resultsOf(envelope, round) };
  };

  const resultsOf = (envelope: Envelope, round: RecipientResult[]): RecipientResult[] => {
    const fresh = new Map(round.map((r) => [r.recipient.toLowerCase(), r]));
    return asResults(envelope, distributor).map((r) => {
      const answer = fresh.get(r.recipient.toLowerCase());
      // A deferred recipient is owned by the queue now: `queued`, with the server's answer.
      if (r.status === 'queued' && answer)
        return { ...r, code: answer.code, response: answer.response };
      return r;
    });
  };

  const queue: Queue = {
    layout,
    async prepare(input) {
      await init();
      return prepareEntry(layout, { ...described(input), raw: input.raw });
    },
    async enqueue(input, enqueueOptions = {}) {
      if (enqueueOptions.sourceKept && (enqueueOptions.deliverNow ?? deliverNow)) {
        await init();
        const before = await existing(layout, input.id);
        if (!before) {
          const claim = await claimFirstRound(layout, input.id);
          if (claim) return firstRound(claim, input);
        }
        // Spooled already, done, or being delivered by another process: the usual way.
      }
      const prepared = await queue.prepare(input);
      const sendNow = enqueueOptions.deliverNow ?? deliverNow;
      const { claim, ...outcome } = await prepared.commit({ claim: sendNow });
      if (outcome.status === 'done')
        return { outcome, results: asResults(outcome.envelope, distributor) };
      let why: string | undefined;
      if (claim) {
        // The entry is safe on disk: a failure to deliver now is the runner's to retry, not
        // the caller's (who would spool it again).
        try {
          const { envelope, round } = await deliverClaim(claim, false, {
            envelope: prepared.envelope,
            raw: input.raw,
          });
          return { outcome, results: resultsOf(envelope, round) };
        } catch (error) {
          why = describeError(error);
        }
      }
      const waiting = await peekEnvelope(layout, outcome.id);
      const results: RecipientResult[] = waiting
        ? asResults(waiting, distributor)
        : input.recipients.map((recipient) => ({
            recipient,
            status: 'queued' as const,
            distributor,
          }));
      // Say why nothing went out now (server down, TLS, AUTH): the caller logs it.
      if (why) {
        const reason = why;
        return {
          outcome,
          results: results.map((r) =>
            r.status === 'queued' ? { ...r, response: r.response ?? reason } : r,
          ),
        };
      }
      return { outcome, results };
    },
    async deliver(id, force = false) {
      await init();
      const claim = await claimEntry(layout, id);
      if (!claim) {
        const done = await readDoneRecord(layout, id);
        return done ? asResults(done, distributor) : undefined;
      }
      const { envelope, round } = await deliverClaim(claim, force);
      return resultsOf(envelope, round);
    },
    async run(runOptions = {}) {
      await init();
      const summary: RunSummary = {
        processed: 0,
        delivered: 0,
        deferred: 0,
        failed: 0,
        finished: 0,
        reclaimed: 0,
        errors: [],
      };
      await purgeSpool(layout, keepDone, now());
      const wanted = runOptions.ids ? new Set(runOptions.ids) : undefined;
      const seen = new Set<string>();
      const force = runOptions.force ?? false;
      const account = (envelope: Envelope, round: RecipientResult[]) => {
        summary.processed++;
        for (const r of round) {
          if (r.status === 'delivered') summary.delivered++;
          else if (r.status === 'failed') summary.failed++;
          else summary.deferred++;
        }
        if (nextAttempt(envelope) === undefined) summary.finished++;
      };
      // One bad entry (unreadable envelope, full disk) is reported and skipped, never
      // allowed to stop the run for every other entry.
      const attempt = async (id: string, work: () => Promise<void>) => {
        try {
          await work();
        } catch (error) {
          summary.errors.push(`${id}: ${describeError(error)}`);
        }
      };
      // Stale claims first: their runner died mid-round, their recipients waited longest.
      for (const name of await staleClaims(layout)) {
        const id = name.slice(0, name.indexOf('@'));
        if ((wanted && !wanted.has(id)) || seen.has(id)) continue;
        await attempt(id, async () => {
          const claim = await reclaimEntry(layout, name);
          if (!claim) return;
          seen.add(id);
          summary.reclaimed++;
          const { envelope, round } = await deliverClaim(claim, force);
          account(envelope, round);
        });
      }
      // Each entry at most once per run: a run is bounded even when everything defers.
      for (const id of await waitingIds(layout)) {
        if ((wanted && !wanted.has(id)) || seen.has(id)) continue;
        seen.add(id);
        await attempt(id, async () => {
          const peek = await peekEnvelope(layout, id);
          if (!peek) return;
          const next = nextAttempt(peek);
          const expired = isExpired(peek.created, now(), expireAfter);
          if (!force && !expired && next !== undefined && next > now()) return;
          const claim = await claimEntry(layout, id);
          if (!claim) return;
          const { envelope, round } = await deliverClaim(claim, force);
          account(envelope, round);
        });
      }
      return summary;
    },
    async list() {
      await init();
      return listSpool(layout);
    },
    async drop(id) {
      await init();
      const claim = await claimEntry(layout, id);
      if (!claim) {
        if (await removeDeadLetter(layout, id)) return 'removed-dead-letter';
        return (await listSpool(layout)).some((e) => e.id === id) ? 'busy' : 'unknown';
      }
      const envelope = await readEnvelope(claim.dir);
      applySettled(envelope, await readSentLog(sentLogPath(layout, id), distributor));
      failPending(envelope, 'dropped by the operator');
      await writeEnvelope(claim.dir, envelope);
      await writeDeadLetter(layout, claim, envelope);
      await finishClaim(layout, claim);
      return 'dropped';
    },
    async close() {
      await removeHolderFile();
      await deps.transport.close();
    },
  };
  return queue;
}
