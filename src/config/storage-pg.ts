/**
 * The stores on PostgreSQL (`storage: {type: postgres}` in malist.yaml), loaded by
 * config/storage.ts on first use: a process whose configuration is on files — every
 * `malist receive` of a file-backed installation — never loads them (~90 KB of modules of
 * the receive script, initialized by each process when storage.ts imported them at its top).
 *
 * Each store adds its SchemaPart to SCHEMA_PARTS (its tables, versioned by its own
 * migrations: src/state/pg.ts), which `malist storage upgrade` brings up to date.
 */
import { ARCHIVE_SCHEMA, PgArchive } from '../archive/pg-store.ts';
import { BOUNCES_SCHEMA, pgBounceStorage } from '../bounces/pg-store.ts';
import type { BounceStorage } from '../bounces/store.ts';
import { DIGEST_SCHEMA, PgDigestStore } from '../digest/pg-store.ts';
import { MEMBERS_SCHEMA } from '../members/pg-store.ts';
import { createPgStore, QUEUE_SCHEMA } from '../queue/pg-store.ts';
import type { QueueStore } from '../queue/store.ts';
import type { HeldStorage } from '../state/held-store.ts';
import type { Journal } from '../state/journal.ts';
import { type Database, openDatabase, redactUrl, type SchemaPart } from '../state/pg.ts';
import { COUNTERS_SCHEMA, PgCounters } from '../state/pg-counters.ts';
import { HELD_SCHEMA, pgHeldStorage } from '../state/pg-held.ts';
import { JOURNAL_SCHEMA, PgJournal } from '../state/pg-journal.ts';
import { HOLDERS_SCHEMA, type ProcessLease, processLease } from '../state/pg-lock.ts';
import { MEMOS_SCHEMA, PgMemoStore, PgNoticeCounts } from '../state/pg-memos.ts';
import { PgPendingStore, TOKENS_SCHEMA } from '../state/pg-tokens.ts';
import { PgWebCredentials, WEB_CREDENTIALS_SCHEMA } from '../state/pg-web-credentials.ts';
import type { PendingStore } from '../state/tokens.ts';
import type { WebCredentials } from '../state/web-credentials.ts';
import type { ListState } from './list-state.ts';
import { holders, oncePerDatabase, type PostgresChoice, pools } from './storage-pools.ts';

/** Every store's part of the PostgreSQL schema, in the order `upgrade` applies them. */
export const SCHEMA_PARTS: SchemaPart[] = [
  HOLDERS_SCHEMA,
  JOURNAL_SCHEMA,
  MEMBERS_SCHEMA,
  TOKENS_SCHEMA,
  QUEUE_SCHEMA,
  HELD_SCHEMA,
  BOUNCES_SCHEMA,
  MEMOS_SCHEMA,
  COUNTERS_SCHEMA,
  DIGEST_SCHEMA,
  WEB_CREDENTIALS_SCHEMA,
  ARCHIVE_SCHEMA,
];

/** The process's pool for this URL (opened once, shared by every store on it). */
export function databaseFor(choice: PostgresChoice): Promise<Database> {
  let db = pools.get(choice.url);
  if (!db) {
    db = openDatabase(choice.url, { max: choice.pool ?? 4 });
    pools.set(choice.url, db);
  }
  return db;
}

/** The process's one lease per database, shared by the queue's and the journal's claims. */
const leases = new Map<string, ProcessLease>();

/**
 * The process lease on this database (state/pg-lock.ts): one connection holding one advisory
 * lock, its number named by every claim this process makes — queue recipients and journal
 * mail alike. Taken on first use; ended by `closeDatabases()`.
 */
export function processLeaseFor(choice: PostgresChoice): ProcessLease {
  let lease = leases.get(choice.url);
  if (!lease) {
    const made = processLease(databaseFor(choice));
    leases.set(choice.url, made);
    holders.push(() => {
      leases.delete(choice.url);
      return made.end();
    });
    lease = made;
  }
  return lease;
}

/** The journal's rows, one a process per database (the loop, `malist trace` and the web share it). */
export function pgJournal(choice: PostgresChoice): Promise<Journal> {
  return oncePerDatabase('journal', choice.url, async () =>
    PgJournal.open(await databaseFor(choice), processLeaseFor(choice)),
  );
}

/** The pending confirmations' (tokens') rows. */
export async function pgPendingStore(choice: PostgresChoice): Promise<PendingStore> {
  return PgPendingStore.open(await databaseFor(choice));
}

/**
 * The store of each queue name on the process's pool, its claims under the process lease —
 * one store per name in this process, so the distributors that share a name share a queue,
 * and the others keep apart.
 */
export function pgQueueStores(choice: PostgresChoice): (name: string) => QueueStore {
  const stores = new Map<string, QueueStore>();
  return (name) => {
    let store = stores.get(name);
    if (!store) {
      store = createPgStore(databaseFor(choice), { lease: processLeaseFor(choice), name });
      stores.set(name, store);
    }
    return store;
  };
}

/** Held posts' and moderators' decisions' rows. */
export async function pgHeld(choice: PostgresChoice): Promise<HeldStorage> {
  return pgHeldStorage(await databaseFor(choice));
}

/** Bounce records, the sent index and complaints, one a process (the handlers, the CLI and the web share it). */
export function pgBounces(choice: PostgresChoice): Promise<BounceStorage> {
  return oncePerDatabase('bounces', choice.url, async () =>
    pgBounceStorage(await databaseFor(choice)),
  );
}

/** Request memos, notice counts, post counters and digests as rows. */
export async function pgListState(choice: PostgresChoice): Promise<ListState> {
  const db = await databaseFor(choice);
  const memos = await PgMemoStore.open(db);
  const noticeCounts = await PgNoticeCounts.open(db);
  const counters = await PgCounters.open(db);
  const digest = await PgDigestStore.opener(db);
  return { memos, noticeCounts, counters, digest: async (list) => digest(list) };
}

/** The web's credentials as rows, one a process. */
export function pgWebCredentials(choice: PostgresChoice): Promise<WebCredentials> {
  return oncePerDatabase('web-credentials', choice.url, async () =>
    PgWebCredentials.open(await databaseFor(choice)),
  );
}

/** The archive's rows (every host archives into, and reads, one archive). */
export function pgArchiveRows(choice: PostgresChoice): PgArchive {
  return new PgArchive(databaseFor(choice), redactUrl(choice.url));
}
