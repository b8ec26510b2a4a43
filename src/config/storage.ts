/**
 * `storage:` in malist.yaml, made into what the stores need: the file-backed default, or one
 * PostgreSQL pool per process shared by every store on it, and the list of schema parts
 * `malist storage upgrade` brings up to date.
 *
 * Each store on PostgreSQL adds its SchemaPart to SCHEMA_PARTS (its tables, versioned by
 * its own migrations: src/state/pg.ts).
 */
import { createPgStore, QUEUE_SCHEMA } from '../queue/pg-store.ts';
import type { QueueStore } from '../queue/store.ts';
import { type Database, openDatabase, type SchemaPart } from '../state/pg.ts';
import type { MainYaml } from './schema.ts';

/** Every store's part of the PostgreSQL schema, in the order `upgrade` applies them. */
export const SCHEMA_PARTS: SchemaPart[] = [QUEUE_SCHEMA];

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

/** Closes every pool this process opened (the end of a command; lets node exit). */
export async function closeDatabases(): Promise<void> {
  const pools = [...open.values()];
  open.clear();
  await Promise.all(pools.map(async (db) => (await db).close()));
}

/**
 * The queue's store for `storage:`: undefined on files (each `type: queue` distributor keeps
 * its spool in its `dir`), else one store on the process's pool — a worker with its own
 * lease — that every queue distributor of this process shares.
 */
export function queueStoreFor(choice: StorageChoice): QueueStore | undefined {
  if (choice.type === 'files') return undefined;
  return createPgStore(databaseFor(choice));
}
