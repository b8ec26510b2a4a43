/**
 * The process's PostgreSQL pools and what is held open on them, kept apart from the stores
 * (storage-pg.ts) so that closing them — the end of every command — loads no PostgreSQL
 * module when the configuration is on files: a `malist receive` on files never imports the
 * stores (config/storage.ts loads them on first use).
 */
import type { Database } from '../state/pg.ts';

/** `storage: {type: postgres}` in malist.yaml: the database's URL and the pool's size. */
export type PostgresChoice = { type: 'postgres'; url: string; pool?: number | undefined };

/** The pools this process opened, by URL (storage-pg.ts `databaseFor`). */
export const pools = new Map<string, Promise<Database>>();

/** What a store on a pool holds open (a session), ended before the pool closes. */
export const holders: Array<() => Promise<void>> = [];

/** The stores this process made once per database (shared by every caller), by kind and URL. */
const perDatabase = new Map<string, Promise<unknown>>();

/** `make()`'s store for this database, made once a process and forgotten when the pools close. */
export function oncePerDatabase<T>(kind: string, url: string, make: () => Promise<T>): Promise<T> {
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
  const open = [...pools.values()];
  pools.clear();
  await Promise.all(open.map(async (db) => (await db).close()));
}
