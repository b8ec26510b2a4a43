/**
 * Request memos and notice counts on PostgreSQL (`storage: {type: postgres}`): a command
 * mail handled on one host and replayed on another returns the same replies, and the daily
 * notice budget of a mailbox is one budget across every host.
 *
 * `malist_request_memos` keeps a row per (list, mail key) with its replies (jsonb, the bytes
 * in base64 as in the files) and when it was written; `malist_notice_counts` a row per (day,
 * mailbox id), counted by one `INSERT … ON CONFLICT DO UPDATE … WHERE count < limit`, so two
 * hosts taking the last notice of the day at once cannot both have it.
 */
import {
  type MemoStore,
  memoFromJson,
  memoToJson,
  type NoticeCounts,
  type RequestMemo,
  type StoredCount,
  type StoredMemo,
} from './memos.ts';
import { type Database, requireSchema, type SchemaPart } from './pg.ts';

export const MEMOS_SCHEMA: SchemaPart = {
  name: 'memos',
  migrations: [
    `CREATE TABLE malist_request_memos (
       list text NOT NULL,
       key text NOT NULL,
       memo jsonb NOT NULL,
       written_at timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (list, key)
     );
     CREATE INDEX malist_request_memos_written ON malist_request_memos (written_at);
     CREATE TABLE malist_notice_counts (
       day date NOT NULL,
       mailbox text NOT NULL,
       count integer NOT NULL,
       PRIMARY KEY (day, mailbox)
     );`,
  ],
};

export class PgMemoStore implements MemoStore {
  private constructor(private readonly db: Database) {}

  /** The store on `db`, its tables created on a fresh database (else checked). */
  static async open(db: Database): Promise<PgMemoStore> {
    await requireSchema(db, MEMOS_SCHEMA);
    return new PgMemoStore(db);
  }

  async get(list: string, key: string): Promise<RequestMemo | undefined> {
    const rows = await this.db.query<{ memo: Parameters<typeof memoFromJson>[0] }>(
      'SELECT memo FROM malist_request_memos WHERE list = $1 AND key = $2',
      [list, key],
    );
    return rows[0] ? memoFromJson(rows[0].memo) : undefined;
  }

  async put(list: string, key: string, memo: RequestMemo, now?: number): Promise<void> {
    await this.db.query(
      `INSERT INTO malist_request_memos (list, key, memo, written_at)
       VALUES ($1, $2, $3, COALESCE(to_timestamp($4::double precision / 1000), now()))
       ON CONFLICT (list, key) DO UPDATE SET memo = EXCLUDED.memo, written_at = EXCLUDED.written_at`,
      [list, key, JSON.stringify(memoToJson(memo)), now ?? null],
    );
  }

  async prune(maxAgeMs: number, now = Date.now()): Promise<number> {
    const rows = await this.db.query(
      'DELETE FROM malist_request_memos WHERE written_at < to_timestamp($1::double precision / 1000) RETURNING key',
      [now - maxAgeMs],
    );
    return rows.length;
  }

  async *all(): AsyncIterable<StoredMemo> {
    const rows = await this.db.query<{
      list: string;
      key: string;
      memo: Parameters<typeof memoFromJson>[0];
      at: number;
    }>(
      `SELECT list, key, memo, (extract(epoch FROM written_at) * 1000)::float8 AS at
       FROM malist_request_memos ORDER BY list, key`,
    );
    for (const r of rows) yield { list: r.list, key: r.key, memo: memoFromJson(r.memo), at: r.at };
  }
}

export class PgNoticeCounts implements NoticeCounts {
  private constructor(private readonly db: Database) {}

  /** The counts on `db`, their table created on a fresh database (else checked). */
  static async open(db: Database): Promise<PgNoticeCounts> {
    await requireSchema(db, MEMOS_SCHEMA);
    return new PgNoticeCounts(db);
  }

  async take(day: string, mailbox: string, perDay: number): Promise<boolean> {
    if (perDay <= 0) return false;
    // The row is locked by the insert or the update: of two racing takes of the last
    // notice, the second sees the first's count and its WHERE fails (no row returned).
    const rows = await this.db.query(
      `INSERT INTO malist_notice_counts (day, mailbox, count) VALUES ($1, $2, 1)
       ON CONFLICT (day, mailbox) DO UPDATE SET count = malist_notice_counts.count + 1
       WHERE malist_notice_counts.count < $3
       RETURNING count`,
      [day, mailbox, perDay],
    );
    return rows.length === 1;
  }

  async raise(day: string, mailbox: string, count: number): Promise<void> {
    await this.db.query(
      `INSERT INTO malist_notice_counts (day, mailbox, count) VALUES ($1, $2, $3)
       ON CONFLICT (day, mailbox) DO UPDATE SET count = GREATEST(malist_notice_counts.count, EXCLUDED.count)`,
      [day, mailbox, count],
    );
  }

  async prune(today: string): Promise<void> {
    await this.db.query('DELETE FROM malist_notice_counts WHERE day < $1', [today]);
  }

  async *all(): AsyncIterable<StoredCount> {
    const rows = await this.db.query<StoredCount>(
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, mailbox, count FROM malist_notice_counts ORDER BY day, mailbox`,
    );
    yield* rows;
  }
}
