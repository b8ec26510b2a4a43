/**
 * The queue's state on PostgreSQL, so workers on several hosts share one queue and fan one
 * post out together. Tables (the `queue` schema part):
 *
 *   queue_entries     one row an entry: its envelope's fields and the message bytes (bytea,
 *                     once, never changed); `done_at` set makes it the done record
 *   queue_recipients  one row a recipient: state, attempts, next attempt, last answer, and
 *                     `claimed_by` (the worker whose claim holds it, or null)
 *   queue_sent        the sent-log: one row a settled recipient, inserted (and committed)
 *                     right after the server's reply and before the recipient's row changes
 *   queue_dead        the dead letters: one row a recipient given up on
 *
 * (`queue_workers`, one row a worker, is left from version 1: holders are the process
 * leases' rows now, `malist_holders`.)
 *
 * Claims are over recipient rows, never whole entries: `SELECT … FOR UPDATE SKIP LOCKED`
 * in one short statement takes up to `claimBatch` pending rows of an entry and names this
 * worker in them, so three workers fan a 1,000-member post out as ten batches between them.
 *
 * The lease dies with its holder, never by a clock: a claim names the holder number of the
 * process's one lease (state/pg-lock.ts, shared with the journal's claims), a session-level
 * advisory lock on a connection of its own. When the process dies (or its connection
 * does), PostgreSQL ends the session and frees the lock; another worker finds it free
 * (`pg_try_advisory_lock` succeeds, and is given back at once), and only then clears that
 * holder's claims. The
 * round that takes the rows over reads the sent-log first: a recipient the dead worker got
 * a reply for is settled from it and never sent again. Only a recipient whose reply was in
 * flight at the death is sent twice (RFC 1047's window, as on files). A claim is refused
 * when this worker's own lock is not held any more (its connection dropped while the
 * process lives), so a worker never claims under a lease others may already have taken.
 *
 * No first round from the post's source: a new post is inserted, then delivered at once
 * under its claim (one insert of the entry and its rows, where the file spool saves two
 * renames and a directory); a crash before the journal re-enqueues the same ID, which finds
 * the entry (or its done record) and its sent-log: the journal stays the arbiter.
 */
import type { Database, SchemaPart } from '../state/pg.ts';
import { requireSchema } from '../state/pg.ts';
import {
  forgetHolders,
  HOLDER_SPACE,
  isHolderGone,
  type ProcessLease,
  processLease,
  type SessionLock,
} from '../state/pg-lock.ts';
import { createEnvelope, type Envelope } from './envelope.ts';
import { recordsOf } from './pg-records.ts';
import {
  claimRows,
  entryRow,
  envelopeIn,
  envelopeOf,
  existingEntry,
  INSERT_SLICE,
  insertDead,
  insertEntry,
  insertSent,
  listEntries,
  openMessage,
  purgeDone,
  queuedPostsOf,
  removeDead,
  sentOf,
  settleRows,
  staleClaims,
  waitingIds,
} from './pg-rows.ts';
import type { EnqueueOutcome } from './spool.ts';
import type { ClaimOptions, QueueStore, StoreClaim, StoredEntry } from './store.ts';

/** The queue's part of the PostgreSQL schema (`malist storage upgrade` applies it). */
export const QUEUE_SCHEMA: SchemaPart = {
  name: 'queue',
  migrations: [
    `CREATE TABLE queue_workers (
      id serial PRIMARY KEY,
      host text NOT NULL,
      pid integer NOT NULL,
      started timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE queue_entries (
      id text PRIMARY KEY,
      list text,
      message_id text,
      key text,
      sender text NOT NULL,
      created bigint NOT NULL,
      seal jsonb,
      rounds integer NOT NULL DEFAULT 0,
      last_error text,
      message bytea NOT NULL,
      done_at bigint
    );
    CREATE INDEX queue_entries_waiting ON queue_entries (created, id) WHERE done_at IS NULL;
    CREATE INDEX queue_entries_done ON queue_entries (done_at) WHERE done_at IS NOT NULL;
    CREATE INDEX queue_entries_post ON queue_entries (list, message_id);
    CREATE TABLE queue_recipients (
      entry_id text NOT NULL REFERENCES queue_entries (id) ON DELETE CASCADE,
      n integer NOT NULL,
      address text NOT NULL,
      state text NOT NULL,
      attempts integer NOT NULL DEFAULT 0,
      next_attempt bigint NOT NULL,
      code integer,
      response text,
      tried_at bigint,
      claimed_by integer,
      PRIMARY KEY (entry_id, n)
    );
    CREATE INDEX queue_recipients_claimable ON queue_recipients (entry_id, n)
      WHERE state = 'pending' AND claimed_by IS NULL;
    CREATE INDEX queue_recipients_claimed ON queue_recipients (claimed_by)
      WHERE claimed_by IS NOT NULL;
    CREATE TABLE queue_sent (
      entry_id text NOT NULL REFERENCES queue_entries (id) ON DELETE CASCADE,
      address_lc text NOT NULL,
      address text NOT NULL,
      status text NOT NULL,
      code integer,
      response text,
      at bigint NOT NULL,
      PRIMARY KEY (entry_id, address_lc)
    );
    CREATE TABLE queue_dead (
      entry_id text NOT NULL REFERENCES queue_entries (id) ON DELETE CASCADE,
      address_lc text NOT NULL,
      address text NOT NULL,
      code integer,
      response text,
      at bigint NOT NULL,
      PRIMARY KEY (entry_id, address_lc)
    );`,
    // 2: several `type: queue` distributors on one database keep apart by the queue's name
    // (entries of version 1 were the one queue's); workers are the process leases' holders
    // now (state/pg-lock.ts), so queue_workers goes.
    `ALTER TABLE queue_entries ADD COLUMN queue text NOT NULL DEFAULT 'queue';
    DROP INDEX queue_entries_waiting;
    CREATE INDEX queue_entries_waiting ON queue_entries (queue, created, id) WHERE done_at IS NULL;
    DROP TABLE queue_workers;`,
  ],
};

export interface PgStoreOptions {
  /** Recipients one claim takes (the unit several workers split a post by). @default 100 */
  claimBatch?: number;
  /**
   * The process's lease (config/storage-pg.ts builds one per process, shared with the
   * journal). @default a lease of the store's own, ended by `close()`
   */
  lease?: ProcessLease;
  /**
   * The queue's name: several `type: queue` distributors on one database keep apart by it
   * (each lists, runs, reclaims and purges only its own entries). @default 'queue'
   */
  name?: string;
}

/** A claim on a batch of an entry's recipient rows (there may always be more). */
export interface PgClaim extends StoreClaim {
  readonly partial: true;
  /** The claimed rows: lower-cased address → row number. */
  readonly rows: Map<string, number>;
  readonly envelope: Envelope;
  /** The lease the claim was made under: once it is lost, the claim is another's to take. */
  readonly holder: SessionLock;
}

export interface PgQueueStore extends QueueStore<PgClaim> {
  readonly kind: 'postgres';
  /** This worker's holder number (its process lease's), once taken. */
  workerId(): number | undefined;
}

/** `first` in slices of `INSERT_SLICE`, then the slices of `more`. */
async function* slicesOf(first: string[], more?: AsyncIterable<string[]>) {
  for (let from = 0; from < first.length; from += INSERT_SLICE)
    yield first.slice(from, from + INSERT_SLICE);
  if (more) yield* more;
}

/**
 * An entry inserted (with its rows, in one transaction) only at `commit()`; with `claim`,
 * its first batch claimed at once.
 */
function preparedEntry(
  input: Parameters<QueueStore['prepare']>[0],
  via: {
    insert(envelope: Envelope, more?: AsyncIterable<string[]>): Promise<boolean>;
    existing(id: string): Promise<EnqueueOutcome | undefined>;
    claim(id: string): Promise<PgClaim | undefined>;
  },
): StoredEntry<PgClaim> {
  // The rows are written a slice at a time, each slice's records made as it goes: a
  // 1,000,000-member post is never a record per recipient in memory. The whole envelope
  // is made only for a caller that reads it.
  const head = input.envelope ?? createEnvelope({ ...input, recipients: [] });
  const more = input.envelope ? undefined : slicesOf(input.recipients, input.more);
  let whole = input.envelope;
  let settled = false;
  return {
    id: input.id,
    get envelope() {
      whole ??= createEnvelope(input);
      return whole;
    },
    async commit(commitOptions = {}) {
      if (settled) throw new Error(`entry ${input.id} was already committed or aborted`);
      settled = true;
      if (!(await via.insert(head, more)))
        return (await via.existing(input.id)) ?? { id: input.id, status: 'exists' };
      if (!commitOptions.claim) return { id: input.id, status: 'queued' };
      const c = await via.claim(input.id);
      return { id: input.id, status: 'queued', ...(c ? { claim: c } : {}) };
    },
    async abort() {
      settled = true;
    },
  };
}

/** The queue on PostgreSQL (`database`: the process's shared pool; `close` leaves it open). */
export function createPgStore(
  database: Database | Promise<Database>,
  options: PgStoreOptions = {},
): PgQueueStore {
  const batch = options.claimBatch ?? 100;
  const queueName = options.name ?? 'queue';
  let db: Database | undefined;
  const lease = options.lease ?? processLease(database);
  let started: Promise<void> | undefined;
  let lastMessage: { id: string; raw: Buffer } | undefined;
  const sql = (): Database => {
    if (!db) throw new Error('the PostgreSQL queue store is used before ready()');
    return db;
  };
  const deadWhere = (id: string) =>
    `${store.where} (table queue_dead, ${queueName === 'queue' ? '' : `queue ${queueName}, `}entry ${id})`;

  const existing = (id: string) => existingEntry(sql(), id);

  async function claim(id: string, claimOptions: ClaimOptions = {}): Promise<PgClaim | undefined> {
    const holder = await lease.holder();
    const rows = await claimRows(sql(), {
      id,
      dueBy: claimOptions.dueBy ?? null,
      untriedSince: claimOptions.untriedSince ?? null,
      batch,
      worker: holder.id,
      backend: holder.backend,
      leaseSpace: HOLDER_SPACE,
    });
    // No rows because the lease's lock is gone: said, not taken for "nothing to do".
    if (rows.length === 0 && holder.lost()) throw leaseLost(holder.id);
    if (rows.length === 0) return undefined;
    const entry = await entryRow(sql(), id);
    if (!entry) return undefined;
    return {
      id,
      partial: true,
      rows: new Map(rows.map((r) => [r.address.toLowerCase(), r.n])),
      envelope: envelopeOf(entry, rows),
      holder,
    };
  }

  async function release(c: PgClaim): Promise<void> {
    await sql().query(
      'UPDATE queue_recipients SET claimed_by = NULL WHERE entry_id = $1 AND claimed_by = $2 AND n = ANY($3::int[])',
      [c.id, c.holder.id, [...c.rows.values()]],
    );
  }

  async function reclaim(name: string): Promise<PgClaim | undefined> {
    const colon = name.indexOf(':');
    const holder = Number(name.slice(0, colon));
    const id = name.slice(colon + 1);
    if (!(await isHolderGone(sql(), holder))) return undefined;
    // Back to waiting; the round that claims them reads the sent-log before sending.
    await sql().query(
      'UPDATE queue_recipients SET claimed_by = NULL WHERE entry_id = $1 AND claimed_by = $2',
      [id, holder],
    );
    return claim(id);
  }

  async function read(c: PgClaim): Promise<{ envelope: Envelope; raw: Buffer }> {
    if (lastMessage?.id !== c.id) {
      const [row] = await sql().query<{ message: Buffer }>(
        'SELECT message FROM queue_entries WHERE id = $1',
        [c.id],
      );
      if (!row) throw new Error(`queue entry ${c.id} is not in the database`);
      lastMessage = { id: c.id, raw: row.message };
    }
    // A copy: the round changes the envelope's records in place.
    return { envelope: structuredClone(c.envelope), raw: lastMessage.raw };
  }

  async function settle(c: PgClaim, envelope: Envelope): Promise<boolean> {
    const mine = envelope.recipients.flatMap((r) => {
      const n = c.rows.get(r.address.toLowerCase());
      return n === undefined ? [] : [{ ...r, n }];
    });
    return settleRows(sql(), c.id, c.holder.id, mine, envelope.last_error);
  }

  const store: PgQueueStore = {
    kind: 'postgres',
    get where() {
      return db?.label ?? 'postgres';
    },
    workerId: () => lease.current?.id,
    ready() {
      started ??= (async () => {
        const opened = await database;
        await requireSchema(opened, QUEUE_SCHEMA);
        await lease.holder();
        db = opened;
      })();
      return started;
    },
    existing,
    prepare: async (input) =>
      preparedEntry(input, {
        insert: (envelope, more) => insertEntry(sql(), envelope, input.raw, queueName, { more }),
        existing,
        claim,
      }),
    claimFirstRound: async () => undefined,
    claim,
    staleClaims: () => staleClaims(sql(), lease.current?.id, queueName),
    reclaim,
    waitingIds: () => waitingIds(sql(), queueName),
    peek: (id) => envelopeIn(sql(), id, 'open'),
    read,
    appendSent: (id, results, at) => insertSent(sql(), id, results, at),
    message: (id) => openMessage(sql(), id),
    ...recordsOf(sql, queueName),
    view: (id) => envelopeIn(sql(), id, 'any'),
    sentLog: (c, distributor) => sentOf(sql(), c.id, [...c.rows.keys()], distributor),
    sentLogAppender: (c) => ({
      append: (results, now) => insertSent(sql(), c.id, results, now),
      close: async () => {},
    }),
    settle,
    held: (c) => !c.holder.lost(),
    release,
    discard: release,
    readDone: (id) => envelopeIn(sql(), id, 'done'),
    async writeDeadLetter(c, envelope) {
      const failed = envelope.recipients.filter(
        (r) => r.state === 'failed' && c.rows.has(r.address.toLowerCase()),
      );
      await insertDead(sql(), c.id, failed, Date.now());
      return deadWhere(c.id);
    },
    removeDeadLetter: (id) => removeDead(sql(), id),
    list: () => listEntries(sql(), queueName),
    async purge(retentionMs, now) {
      const gone = await purgeDone(sql(), now - retentionMs, queueName);
      await forgetHolders(sql());
      return gone;
    },
    queuedPosts: (list, messageIds) => queuedPostsOf(sql(), list, messageIds, deadWhere, queueName),
    async close() {
      if (!options.lease) await lease.end();
      lastMessage = undefined;
    },
  };
  return store;
}

function leaseLost(id: number): Error {
  return new Error(
    `queue holder ${id} lost its lease (its database connection ended): its claims are another worker's now; the next claim takes a new lease`,
  );
}
