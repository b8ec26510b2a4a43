/**
 * Pending confirmations on PostgreSQL (`storage: {type: postgres}`): a row per action, so a
 * token mailed by one host is confirmed on any other (a member's click reaches whichever
 * web front answers). Used once: `UPDATE … SET used … WHERE NOT used RETURNING` lets exactly
 * one of concurrent consumers win, in any process. The HMAC and the expiry are checked by
 * `TokenStore` (tokens.ts), as for the files.
 */
import { type Database, requireSchema, type SchemaPart } from './pg.ts';
import type { KeptPending, Pending, PendingStore } from './tokens.ts';

export const TOKENS_SCHEMA: SchemaPart = {
  name: 'tokens',
  migrations: [
    `CREATE TABLE malist_tokens (
       id text PRIMARY KEY,
       pending jsonb NOT NULL,
       expires bigint NOT NULL,
       used_at timestamptz
     );
     CREATE INDEX malist_tokens_expires ON malist_tokens (expires);`,
  ],
};

export class PgPendingStore implements PendingStore {
  private constructor(private readonly db: Database) {}

  /** The store on `db`, its table created on a fresh database (else checked). */
  static async open(db: Database): Promise<PgPendingStore> {
    await requireSchema(db, TOKENS_SCHEMA);
    return new PgPendingStore(db);
  }

  async put(id: string, pending: Pending): Promise<void> {
    await this.db.query('INSERT INTO malist_tokens (id, pending, expires) VALUES ($1, $2, $3)', [
      id,
      JSON.stringify(pending),
      pending.expires,
    ]);
  }

  async get(id: string): Promise<Pending | undefined> {
    const rows = await this.db.query<{ pending: Pending }>(
      'SELECT pending FROM malist_tokens WHERE id = $1 AND used_at IS NULL',
      [id],
    );
    return rows[0]?.pending;
  }

  async take(id: string): Promise<boolean> {
    const rows = await this.db.query(
      'UPDATE malist_tokens SET used_at = now() WHERE id = $1 AND used_at IS NULL RETURNING id',
      [id],
    );
    return rows.length === 1;
  }

  /** Deletes every action past its expiry (used ones too: they confirm nothing any more). */
  async expire(now: number): Promise<Pending[]> {
    const rows = await this.db.query<{ pending: Pending; used: boolean }>(
      'DELETE FROM malist_tokens WHERE expires < $1 RETURNING pending, used_at IS NOT NULL AS used',
      [now],
    );
    return rows.filter((r) => !r.used).map((r) => r.pending);
  }

  async entries(): Promise<KeptPending[]> {
    return this.db.query<KeptPending>(
      'SELECT id, pending, used_at IS NOT NULL AS used FROM malist_tokens ORDER BY id',
    );
  }

  /** One statement: a new row as it was, or a pending row made used when `used`. */
  async restore({ id, pending, used }: KeptPending): Promise<boolean> {
    const rows = await this.db.query(
      `INSERT INTO malist_tokens (id, pending, expires, used_at)
       VALUES ($1, $2, $3, CASE WHEN $4::boolean THEN now() END)
       ON CONFLICT (id) DO UPDATE SET used_at = now()
        WHERE $4::boolean AND malist_tokens.used_at IS NULL
       RETURNING id`,
      [id, JSON.stringify(pending), pending.expires, used],
    );
    return rows.length === 1;
  }
}
