/**
 * Where the queue keeps its state: the contract every backend keeps (the file spool,
 * file-store.ts, is the embedded default; pg-store.ts puts the same on PostgreSQL so
 * workers on several hosts share one queue). The queue's steps (round.ts, runner.ts,
 * enqueue.ts, dead-letter.ts) talk only to this; they know no directory and no table.
 *
 * The promises each backend keeps, whatever it is made of:
 * - an entry is written once, with its bytes never changed, and one ID is one entry
 *   (`prepare`/`commit` report `exists` or `done` for an ID seen before);
 * - a recipient is in the hands of at most one claim at a time, and a claim dies with its
 *   holder (a process, a database session) — never because of its age;
 * - the sent-log is written right after each server reply and before anything else, and
 *   what it names is never sent again, whoever claims the entry next;
 * - a settled recipient stays settled; an entry with none pending is finished into a done
 *   record kept for the retention period; refused or expired recipients leave a dead
 *   letter for the operator.
 */
import type { RecipientResult } from '../types.ts';
import type { Envelope, NewEnvelope, RecipientRecord } from './envelope.ts';
import type { SentLogHeader, SentLogRecord } from './sent-log.ts';
import type { EnqueueOutcome, SpoolEntry } from './spool.ts';
import type { QueuedPost } from './trace.ts';

/**
 * A claim on work: one entry, or (on a backend that claims recipient rows) a batch of its
 * recipients. Opaque to the queue's steps but for these fields.
 */
export interface StoreClaim {
  readonly id: string;
  /** A first round from the post's source: nothing is stored yet (files only). */
  readonly firstRound?: boolean;
  /**
   * The claim holds only some of the entry's recipients (more may be claimable now): the
   * caller claims again for the rest, and reads the whole entry with `view`.
   */
  readonly partial?: boolean;
}

/** A written but not yet visible entry: `commit()` makes it visible, `abort()` removes it. */
export interface StoredEntry<C extends StoreClaim = StoreClaim> {
  readonly id: string;
  /** The envelope as written (all recipients pending). */
  readonly envelope: Envelope;
  /** Makes the entry visible; with `claim`, claimed by this process at once (`claim`). */
  commit(options?: { claim?: boolean }): Promise<EnqueueOutcome & { claim?: C }>;
  abort(): Promise<void>;
}

/** One round's appends to the sent-log: each `append` is durable when it resolves. */
export interface SentLogAppender {
  append(results: RecipientResult[], now: number): Promise<void>;
  close(): Promise<void>;
}

export interface ClaimOptions {
  /**
   * Only recipients whose next attempt is at or before this time (ms); undefined takes
   * every pending one (a forced run, an expired entry, an operator's drop). A backend that
   * claims whole entries ignores it (the runner peeked first).
   */
  dueBy?: number;
  /**
   * Only recipients not tried since this time (ms): a caller claiming batch after batch of
   * one entry never takes back one it has just deferred.
   */
  untriedSince?: number;
}

/**
 * A finished entry or a dead letter as one store keeps it, for another to keep the same
 * (`malist storage migrate`): `malist trace` and `malist queue list` answer from it alike.
 */
export interface QueueRecord {
  id: string;
  /** The envelope as last written (the done record, else the dead letter's), sent-log not applied. */
  envelope: Envelope;
  /** The sent-log: each final answer with its time. */
  sent: SentLogRecord[];
  /** When the entry finished (ms); absent while it is open or after its done record was purged. */
  doneAt?: number;
  /** The dead letter: the recipients given up on (each with its last answer) and when. */
  dead?: { recipients: RecipientRecord[]; at: number };
  /** The message's bytes, with a dead letter. */
  raw?: Buffer;
}

export interface QueueStore<C extends StoreClaim = StoreClaim> {
  /** The backend's name: `files` or `postgres`. */
  readonly kind: 'files' | 'postgres';
  /** Where it is, for messages: the spool directory, or the database without its password. */
  readonly where: string;
  /** Creates folders / checks the schema and starts the lease; once, before any other call. */
  ready(): Promise<void>;
  /**
   * What the store holds of `id`: an entry (waiting or claimed), a done record, or
   * nothing; `first-round`: another live process is delivering it from its source.
   */
  existing(id: string): Promise<EnqueueOutcome | { id: string; status: 'first-round' } | undefined>;
  /** Writes an entry that stays invisible until `commit()`. */
  prepare(input: NewEnvelope & { raw: Buffer; envelope?: Envelope }): Promise<StoredEntry<C>>;
  /**
   * Claims a new post for a first round from its source (nothing stored); undefined when
   * the backend has no such path or someone else has the ID.
   */
  claimFirstRound(id: string): Promise<C | undefined>;
  /** Claims (work of) a waiting entry; undefined when there is none to claim now. */
  claim(id: string, options?: ClaimOptions): Promise<C | undefined>;
  /** Claims whose holder is provably gone, as names `reclaim` takes. */
  staleClaims(): Promise<Array<{ id: string; name: string }>>;
  /** Takes over a stale claim; undefined when another runner was first. */
  reclaim(name: string): Promise<C | undefined>;
  /** The IDs of entries that wait (unfinished, with something claimable), in order. */
  waitingIds(): Promise<string[]>;
  /** A waiting entry's whole envelope without claiming it; undefined when it moved. */
  peek(id: string): Promise<Envelope | undefined>;
  /** The envelope (the claimed recipients) and bytes of a claim. */
  read(claim: C): Promise<{ envelope: Envelope; raw: Buffer }>;
  /** The bytes of an entry still open (waiting or claimed), for a migration; else undefined. */
  message?(id: string): Promise<Buffer | undefined>;
  /**
   * Adds settled results to an entry's sent-log without a claim (a migration carrying what
   * another store knows): the next round of that entry sends none of them again.
   */
  appendSent?(id: string, results: RecipientResult[], at: number): Promise<void>;
  /**
   * The IDs of finished entries (done records) and of dead letters, for a migration; with
   * `part`, of that part only.
   */
  finishedIds?(part?: 'done' | 'dead'): Promise<string[]>;
  /**
   * What the store keeps of a finished entry or a dead letter (for a migration); undefined
   * when it has neither. Message bytes only with a dead letter.
   */
  record?(id: string): Promise<QueueRecord | undefined>;
  /**
   * Writes one part of `record` (its done record, or its dead letter) unless the store has
   * it, or has the entry still open; true when it wrote it.
   */
  restore?(record: QueueRecord, part: 'done' | 'dead'): Promise<boolean>;
  /** The whole entry's envelope (waiting, claimed or done), sent-log applied. */
  view(id: string): Promise<Envelope | undefined>;
  /** The settled recipients in the sent-log of `id` (lower-cased address → result). */
  sentLog(claim: C, distributor: string): Promise<Map<string, RecipientResult>>;
  /** Opens one round's sent-log appends for `claim`. */
  sentLogAppender(claim: C, header: SentLogHeader): SentLogAppender;
  /**
   * Records the claim's recipients as `envelope` has them and ends the claim: the entry is
   * finished (done record) when none is pending any more, else waits for a later round.
   * `failed`: the round gave up on someone (their state must be written before the claim
   * ends, so a crash does not repeat their notice). Returns true when the entry finished.
   */
  settle(claim: C, envelope: Envelope, failed: number): Promise<boolean>;
  /**
   * Whether this process still holds `claim` (a backend whose claims die with a lease says
   * false once the lease is lost: another worker may have the claim by now). A round asks
   * before each transaction and sends nothing more of a claim it lost. Undefined: always.
   */
  held?(claim: C): boolean;
  /** Ends a claim without recording anything (after an error): the work waits again. */
  release(claim: C): Promise<void>;
  /** The claim's done record was already written (a runner died after it): cleans up. */
  discard(claim: C): Promise<void>;
  /** The final envelope of a finished entry (sent-log applied), or undefined. */
  readDone(id: string): Promise<Envelope | undefined>;
  /** Writes (or adds to) the dead letter of a claimed entry; returns where it is. */
  writeDeadLetter(claim: C, envelope: Envelope, raw?: Buffer): Promise<string>;
  /** Removes a dead letter (after an operator dealt with it); false when there was none. */
  removeDeadLetter(id: string): Promise<boolean>;
  /** Every waiting, claimed and dead entry (for `malist queue list`). */
  list(): Promise<SpoolEntry[]>;
  /** Removes done records and sent-logs older than `retentionMs`, and stale leftovers. */
  purge(retentionMs: number, now: number): Promise<number>;
  /** What the store still knows of a list's posts, recipient by recipient (`malist trace`). */
  queuedPosts(list: string, messageIds: string[]): Promise<QueuedPost[]>;
  /** Ends the lease and frees what the store holds (not a shared pool). */
  close(): Promise<void>;
}
