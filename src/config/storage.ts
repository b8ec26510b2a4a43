/**
 * `storage:` in malist.yaml, made into what the stores need: the file-backed default, or one
 * PostgreSQL pool per process shared by every store on it, and the list of schema parts
 * `malist storage upgrade` brings up to date.
 *
 * Each store on PostgreSQL adds its SchemaPart to SCHEMA_PARTS (its tables, versioned by
 * its own migrations: src/state/pg.ts).
 */
import { join } from 'node:path';
import { ARCHIVE_SCHEMA, PgArchive } from '../archive/pg-store.ts';
import { BOUNCES_SCHEMA, pgBounceStorage } from '../bounces/pg-store.ts';
import { type BounceStorage, fileBounceStorage } from '../bounces/store.ts';
import { DIGEST_SCHEMA, PgDigestStore } from '../digest/pg-store.ts';
import { MEMBERS_SCHEMA } from '../members/pg-store.ts';
import { createPgStore, QUEUE_SCHEMA } from '../queue/pg-store.ts';
import type { QueueStore } from '../queue/store.ts';
import { fileHeldStorage, type HeldStorage } from '../state/held-store.ts';
import { FileJournal, type Journal } from '../state/journal.ts';
import { type Database, openDatabase, redactUrl, type SchemaPart } from '../state/pg.ts';
import { COUNTERS_SCHEMA, PgCounters } from '../state/pg-counters.ts';
import { HELD_SCHEMA, pgHeldStorage } from '../state/pg-held.ts';
import { JOURNAL_SCHEMA, PgJournal } from '../state/pg-journal.ts';
import { HOLDERS_SCHEMA, type ProcessLease, processLease } from '../state/pg-lock.ts';
import { MEMOS_SCHEMA, PgMemoStore, PgNoticeCounts } from '../state/pg-memos.ts';
import { PgPendingStore, TOKENS_SCHEMA } from '../state/pg-tokens.ts';
import { PgWebCredentials, WEB_CREDENTIALS_SCHEMA } from '../state/pg-web-credentials.ts';
import { FilePendingStore, type PendingStore } from '../state/tokens.ts';
import { FileWebCredentials, type WebCredentials } from '../state/web-credentials.ts';
import { fileListState, type ListState } from './list-state.ts';
import type { MainYaml } from './schema.ts';

export { fileListState, type ListState };

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

export type StorageChoice =
  | { type: 'files' }
  | { type: 'postgres'; url: string; pool?: number | undefined };

/** What malist.yaml chose (files when it says nothing). */
export function storageOf(main: Pick<MainYaml, 'storage'> | undefined): StorageChoice {
  const storage = main?.storage;
  if (!storage || storage.type === 'files') return { type: 'files' };
  return { type: 'postgres', url: storage.url, pool: storage.pool };
}

const open = new Map<string, Promise<Database>>();

/** Where a process's state lives: `storage:` and the state directory (malist.yaml's). */
export type StateHome = Pick<MainYaml, 'storage'> & { state_dir: string };

/** The process's pool for this URL (opened once, shared by every store on it). */
export function databaseFor(
  choice: Extract<StorageChoice, { type: 'postgres' }>,
): Promise<Database> {
  let db = open.get(choice.url);
  if (!db) {
    db = openDatabase(choice.url, { max: choice.pool ?? 4 });
    open.set(choice.url, db);
  }
  return db;
}

/** What a store on a pool holds open (a session), ended before the pool closes. */
const holders: Array<() => Promise<void>> = [];

/** The stores this process made once per database (shared by every caller), by kind and URL. */
const perDatabase = new Map<string, Promise<unknown>>();

/** `make()`'s store for this database, made once a process and forgotten when the pools close. */
function oncePerDatabase<T>(kind: string, url: string, make: () => Promise<T>): Promise<T> {
  const key = `${kind} ${url}`;
  let made = perDatabase.get(key) as Promise<T> | undefined;
  if (!made) {
    made = make();
    perDatabase.set(key, made);
    made.catch(() => perDatabase.delete(key));
  }
  return made;
}

/** How many runtimes hold the pools now (holdDatabases). */
let holding = 0;

/**
 * A runtime's hold on the process's pools, let go by its close: the pools close when the last
 * holder lets go. A runtime replaced by a reload (the web after a settings change, `malist
 * lmtp` after an edited list file) closes later than its successor opened, and must not close
 * the pools the successor's stores use.
 */
export function holdDatabases(): () => Promise<void> {
  holding++;
  let held = true;
  return async () => {
    if (!held) return;
    held = false;
    holding--;
    if (holding === 0) await closeDatabases();
  };
}

/** Closes every pool this process opened (the end of a command; lets node exit). */
export async function closeDatabases(): Promise<void> {
  const ending = holders.splice(0);
  await Promise.all(ending.map((end) => end().catch(() => {})));
  perDatabase.clear();
  const pools = [...open.values()];
  open.clear();
  await Promise.all(pools.map(async (db) => (await db).close()));
}

/** The process's one lease per database, shared by the queue's and the journal's claims. */
const leases = new Map<string, ProcessLease>();

/**
 * The process lease on this database (state/pg-lock.ts): one connection holding one advisory
 * lock, its number named by every claim this process makes — queue recipients and journal
 * mail alike. Taken on first use; ended by `closeDatabases()`.
 */
export function processLeaseFor(
  choice: Extract<StorageChoice, { type: 'postgres' }>,
): ProcessLease {
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

/** One file journal a process per directory (its claims are shared by nested plays). */
const fileJournals = new Map<string, FileJournal>();

/**
 * The journal of handled mail, one a process per place (the loop, `malist trace` and the web
 * share it): files in `state_dir/journal`, or the database's rows.
 */
export function journalFor(main: StateHome): Promise<Journal> {
  const choice = storageOf(main);
  if (choice.type === 'postgres')
    return oncePerDatabase('journal', choice.url, async () =>
      PgJournal.open(await databaseFor(choice), processLeaseFor(choice)),
    );
  const place = join(main.state_dir, 'journal');
  let journal = fileJournals.get(place);
  if (!journal) {
    journal = new FileJournal(place);
    fileJournals.set(place, journal);
  }
  return Promise.resolve(journal);
}

/** The pending confirmations (tokens) in the files: one JSON each under state_dir/tokens. */
export function filePendingStore(stateDir: string): PendingStore {
  return new FilePendingStore(join(stateDir, 'tokens'));
}

/**
 * Where pending confirmations (tokens) are kept: the files under state_dir/tokens
 * (`filePendingStore`), or the database's rows, which every host sharing it reads.
 */
export async function pendingStoreFor(main: StateHome): Promise<PendingStore> {
  const choice = storageOf(main);
  if (choice.type === 'files') return filePendingStore(main.state_dir);
  return PgPendingStore.open(await databaseFor(choice));
}

/**
 * The queues' stores for `storage:`: undefined on files (each `type: queue` distributor keeps
 * its spool in its `dir`), else the store of each queue name on the process's pool, its
 * claims under the process lease — one store per name in this process, so the
 * distributors that share a name share a queue, and the others keep apart.
 */
export function queueStoresFor(choice: StorageChoice): ((name: string) => QueueStore) | undefined {
  if (choice.type === 'files') return undefined;
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

/**
 * Where held posts and moderators' decisions live: the files under state_dir (`held/`,
 * `moderation/`), or the database's rows, which every host sharing it sees.
 */
export async function heldStorageFor(main: StateHome): Promise<HeldStorage> {
  const choice = storageOf(main);
  if (choice.type === 'files') return fileHeldStorage(main.state_dir);
  return pgHeldStorage(await databaseFor(choice));
}

/**
 * Where bounce records, the sent index and spam complaints live: the files under state_dir
 * (`bounces/`, `complaints/`), or the database's rows, which every host sharing it reads.
 */
export function bounceStorageFor(main: StateHome): Promise<BounceStorage> {
  const choice = storageOf(main);
  if (choice.type === 'files') return Promise.resolve(fileBounceStorage(main.state_dir));
  // One a process (the handlers, the CLI and the web share it).
  return oncePerDatabase('bounces', choice.url, async () =>
    pgBounceStorage(await databaseFor(choice)),
  );
}

/**
 * Where request memos, notice counts, post counters and digests live for `storage:`: the
 * files under state_dir, or the database's rows, which every host sharing it sees — a
 * replay on another host finds the memo, two hosts share one daily budget, never give two
 * posts one number, and send each digest issue once.
 */
export async function listStateFor(main: StateHome): Promise<ListState> {
  const choice = storageOf(main);
  if (choice.type === 'files') return fileListState(main.state_dir);
  const db = await databaseFor(choice);
  const memos = await PgMemoStore.open(db);
  const noticeCounts = await PgNoticeCounts.open(db);
  const counters = await PgCounters.open(db);
  const digest = await PgDigestStore.opener(db);
  return { memos, noticeCounts, counters, digest: async (list) => digest(list) };
}

/**
 * The web's own credentials (site admins' passwords, REST API tokens) for `storage:`: the
 * files in state_dir/web (each host its own), or the database's rows, which every host's web
 * front and `malist web` share — a token made or revoked on one host counts on all of them.
 */
export function webCredentialsFor(main: StateHome): Promise<WebCredentials> {
  const choice = storageOf(main);
  if (choice.type === 'files') return Promise.resolve(new FileWebCredentials(main.state_dir));
  return oncePerDatabase('web-credentials', choice.url, async () =>
    PgWebCredentials.open(await databaseFor(choice)),
  );
}

/**
 * The archive's rows when `storage:` is PostgreSQL (every host archives into, and reads, one
 * archive), else undefined: the archive stays the files under the archive distributor's
 * `dir` with their SQLite index.
 */
export function archiveRowsFor(main: StateHome | undefined): PgArchive | undefined {
  const choice = storageOf(main);
  if (choice.type === 'files') return undefined;
  return new PgArchive(databaseFor(choice), redactUrl(choice.url));
}
