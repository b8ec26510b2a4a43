/**
 * Post counters on PostgreSQL (`storage: {type: postgres}`): two hosts numbering one list's
 * posts never give two posts one number, and a mail numbered on one host keeps its number
 * when another retries it.
 *
 * `malist_post_counters` keeps a row per list with the next number; `malist_post_numbers`
 * the number each mail key got. A new key takes its number in one short transaction: one
 * `UPDATE … SET next = next + 1 RETURNING` (the row lock orders racing hosts), then the
 * key's row; if the same key was numbered meanwhile (the insert conflicts), the transaction
 * is rolled back — no number burned — and the number that stands is returned.
 */
import type { PostCounters, StoredCounter } from './counters.ts';
import { RECENT_KEYS } from './counters.ts';
import { type Database, requireSchema, type SchemaPart } from './pg.ts';

export const COUNTERS_SCHEMA: SchemaPart = {
  name: 'counters',
  migrations: [
    `CREATE TABLE malist_post_counters (
       list text PRIMARY KEY,
       next bigint NOT NULL CHECK (next >= 1)
     );
     CREATE TABLE malist_post_numbers (
       list text NOT NULL,
       key text NOT NULL,
       number bigint NOT NULL,
       PRIMARY KEY (list, key),
       UNIQUE (list, number)
     );`,
  ],
};

/** Keys kept per list: far more than the files' 500 (rows are cheap), pruned as numbers pass. */
const KEEP = 100 * RECENT_KEYS;

class Conflict extends Error {}

export class PgCounters implements PostCounters {
  private constructor(private readonly db: Database) {}

  /** The counters on `db`, their tables created on a fresh database (else checked). */
  static async open(db: Database): Promise<PgCounters> {
    await requireSchema(db, COUNTERS_SCHEMA);
    return new PgCounters(db);
  }

  private async known(list: string, key: string): Promise<number | undefined> {
    const rows = await this.db.query<{ number: number }>(
      'SELECT number FROM malist_post_numbers WHERE list = $1 AND key = $2',
      [list, key],
    );
    return rows[0]?.number;
  }

  async numberFor(list: string, key: string): Promise<number> {
    const known = await this.known(list, key);
    if (known !== undefined) return known;
    try {
      return await this.db.transaction(async (sql) => {
        let [row] = await sql.query<{ n: number }>(
          'UPDATE malist_post_counters SET next = next + 1 WHERE list = $1 RETURNING next - 1 AS n',
          [list],
        );
        // The list's first post: its row made here (or by a racing host, then counted on).
        row ??= (
          await sql.query<{ n: number }>(
            `INSERT INTO malist_post_counters (list, next) VALUES ($1, 2)
             ON CONFLICT (list) DO UPDATE SET next = malist_post_counters.next + 1
             RETURNING next - 1 AS n`,
            [list],
          )
        )[0];
        const n = row!.n;
        const mine = await sql.query(
          'INSERT INTO malist_post_numbers (list, key, number) VALUES ($1, $2, $3) ON CONFLICT (list, key) DO NOTHING RETURNING number',
          [list, key, n],
        );
        if (mine.length === 0) throw new Conflict();
        if (n % 1000 === 0)
          await sql.query('DELETE FROM malist_post_numbers WHERE list = $1 AND number <= $2', [
            list,
            n - KEEP,
          ]);
        return n;
      });
    } catch (error) {
      if (!(error instanceof Conflict)) throw error;
      const n = await this.known(list, key);
      if (n === undefined) throw new Error(`post number of ${key} in ${list} lost in a race`);
      return n;
    }
  }

  async *all(): AsyncIterable<StoredCounter> {
    const lists = await this.db.query<{ list: string; next: number }>(
      'SELECT list, next FROM malist_post_counters ORDER BY list',
    );
    for (const { list, next } of lists) {
      const recent = await this.db.query<{ key: string; number: number }>(
        'SELECT key, number FROM (SELECT key, number FROM malist_post_numbers WHERE list = $1 ORDER BY number DESC LIMIT $2) r ORDER BY number',
        [list, RECENT_KEYS],
      );
      yield { list, next, recent: recent.map((r) => [r.key, r.number] as [string, number]) };
    }
  }

  async merge(counter: StoredCounter): Promise<boolean> {
    return this.db.transaction(async (sql) => {
      const raised = await sql.query(
        `INSERT INTO malist_post_counters (list, next) VALUES ($1, $2)
         ON CONFLICT (list) DO UPDATE SET next = EXCLUDED.next WHERE malist_post_counters.next < EXCLUDED.next
         RETURNING next`,
        [counter.list, counter.next],
      );
      let added = 0;
      for (const [key, number] of counter.recent)
        added += (
          await sql.query(
            'INSERT INTO malist_post_numbers (list, key, number) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING key',
            [counter.list, key, number],
          )
        ).length;
      return raised.length > 0 || added > 0;
    });
  }
}
