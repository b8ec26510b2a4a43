/**
 * `storage:` in malist.yaml, made into what the stores need: the file-backed default, or one
 * PostgreSQL pool per process shared by every store on it (storage-pg.ts, which has the list
 * of schema parts `malist storage upgrade` brings up to date).
 *
 * The PostgreSQL stores are imported on first use (`postgres()`), so a process on files —
 * every `malist receive` of a file-backed installation — loads none of them; so are the web's
 * credentials, which only the web and `malist run`'s housekeeping read.
 */
import { join } from 'node:path';
import type { PgArchive } from '../archive/pg-store.ts';
import { type BounceStorage, fileBounceStorage } from '../bounces/store.ts';
import { once } from '../mail/lazy.ts';
import type { QueueStore } from '../queue/store.ts';
import { fileHeldStorage, type HeldStorage } from '../state/held-store.ts';
import { FileJournal, type Journal } from '../state/journal.ts';
import type { Database } from '../state/pg.ts';
import { FilePendingStore, type PendingStore } from '../state/tokens.ts';
import type { WebCredentials } from '../state/web-credentials.ts';
import { fileListState, type ListState } from './list-state.ts';
import type { MainYaml } from './schema.ts';
import type { PostgresChoice } from './storage-pools.ts';

export { closeDatabases, holdDatabases } from './storage-pools.ts';
export { fileListState, type ListState };

/** The PostgreSQL stores (storage-pg.ts), imported once, when a `storage: postgres` needs one. */
const postgres = once(() => import('./storage-pg.ts'));

export type StorageChoice = { type: 'files' } | PostgresChoice;

/** What malist.yaml chose (files when it says nothing). */
export function storageOf(main: Pick<MainYaml, 'storage'> | undefined): StorageChoice {
  const storage = main?.storage;
  if (!storage || storage.type === 'files') return { type: 'files' };
  return { type: 'postgres', url: storage.url, pool: storage.pool };
}

/** Where a process's state lives: `storage:` and the state directory (malist.yaml's). */
export type StateHome = Pick<MainYaml, 'storage'> & { state_dir: string };

/** The process's pool for this URL (opened once, shared by every store on it). */
export async function databaseFor(choice: PostgresChoice): Promise<Database> {
  return (await postgres()).databaseFor(choice);
}

/** One file journal a process per directory (its claims are shared by nested plays). */
const fileJournals = new Map<string, FileJournal>();

/**
 * The journal of handled mail, one a process per place (the loop, `malist trace` and the web
 * share it): files in `state_dir/journal`, or the database's rows.
 */
export function journalFor(main: StateHome): Promise<Journal> {
  const choice = storageOf(main);
  if (choice.type === 'postgres') return postgres().then((pg) => pg.pgJournal(choice));
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
  return (await postgres()).pgPendingStore(choice);
}

/**
 * The queues' stores for `storage:`: undefined on files (each `type: queue` distributor keeps
 * its spool in its `dir`), else the store of each queue name on the process's pool, its
 * claims under the process lease — one store per name in this process, so the
 * distributors that share a name share a queue, and the others keep apart.
 */
export async function queueStoresFor(
  choice: StorageChoice,
): Promise<((name: string) => QueueStore) | undefined> {
  if (choice.type === 'files') return undefined;
  return (await postgres()).pgQueueStores(choice);
}

/**
 * Where held posts and moderators' decisions live: the files under state_dir (`held/`,
 * `moderation/`), or the database's rows, which every host sharing it sees.
 */
export async function heldStorageFor(main: StateHome): Promise<HeldStorage> {
  const choice = storageOf(main);
  if (choice.type === 'files') return fileHeldStorage(main.state_dir);
  return (await postgres()).pgHeld(choice);
}

/**
 * Where bounce records, the sent index and spam complaints live: the files under state_dir
 * (`bounces/`, `complaints/`), or the database's rows, which every host sharing it reads.
 */
export function bounceStorageFor(main: StateHome): Promise<BounceStorage> {
  const choice = storageOf(main);
  if (choice.type === 'files') return Promise.resolve(fileBounceStorage(main.state_dir));
  // One a process (the handlers, the CLI and the web share it).
  return postgres().then((pg) => pg.pgBounces(choice));
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
  return (await postgres()).pgListState(choice);
}

/**
 * The web's own credentials (site admins' passwords, REST API tokens) for `storage:`: the
 * files in state_dir/web (each host its own), or the database's rows, which every host's web
 * front and `malist web` share — a token made or revoked on one host counts on all of them.
 */
export async function webCredentialsFor(main: StateHome): Promise<WebCredentials> {
  const choice = storageOf(main);
  if (choice.type === 'files')
    return new (await import('../state/web-credentials.ts')).FileWebCredentials(main.state_dir);
  return (await postgres()).pgWebCredentials(choice);
}

/**
 * The archive's rows when `storage:` is PostgreSQL (every host archives into, and reads, one
 * archive), else undefined: the archive stays the files under the archive distributor's
 * `dir` with their SQLite index.
 */
export async function archiveRowsFor(main: StateHome | undefined): Promise<PgArchive | undefined> {
  const choice = storageOf(main);
  if (choice.type === 'files') return undefined;
  return (await postgres()).pgArchiveRows(choice);
}
