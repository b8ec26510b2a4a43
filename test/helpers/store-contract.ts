/**
 * The set-up every storage contract suite shares: its backends for `describe.each`, the
 * files always and PostgreSQL when it is installed (a loud skip otherwise, a failure under
 * CI=true: postgres.ts), each test given two views of one place, as two processes or hosts
 * have them.
 */
import { afterAll, beforeAll } from 'vitest';
import { type Database, openDatabase } from '../../src/state/pg.ts';
import { type Postgres, postgresAvailable, startPostgres } from './postgres.ts';

/** Two processes' (or hosts') view of one store, where it lives, and how to let go of it. */
export interface TwoViews<T> {
  a: T;
  b: T;
  /** The directory, or the database's URL (what a child process would open). */
  place: string;
  end(): Promise<void>;
}

export type Backend<T> = [name: string, open: () => Promise<TwoViews<T>>];

/**
 * `[['files', files], ['postgres', …]]`. For PostgreSQL this registers the test file's
 * beforeAll/afterAll that start and stop one server, and each test's views are `onPool` of
 * two pools on a fresh database `PREFIX_N`.
 */
export function bothBackends<T>(
  prefix: string,
  files: () => Promise<TwoViews<T>>,
  onPool: (db: Database) => Promise<T>,
): Backend<T>[] {
  const backends: Backend<T>[] = [['files', files]];
  if (!postgresAvailable()) return backends;
  let pg: Postgres | undefined;
  let databases = 0;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 120_000);
  afterAll(() => pg?.stop());
  backends.push([
    'postgres',
    async () => {
      const url = await pg!.createDatabase(`${prefix}_${++databases}`);
      const [dbA, dbB] = await Promise.all([openDatabase(url), openDatabase(url)]);
      return {
        a: await onPool(dbA),
        b: await onPool(dbB),
        place: url,
        async end() {
          await Promise.all([dbA.close(), dbB.close()]);
        },
      };
    },
  ]);
  return backends;
}

/** Everything an async iterable yields, in order. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
