/**
 * The web's credentials on PostgreSQL (`storage: {type: postgres}`): site admins' password
 * hashes and REST API tokens' SHA-256 as rows, so every host's `malist serve` behind a load
 * balancer reads the same ones — a password set or a token made or revoked on one host takes
 * effect on every other at the next request (nothing is cached). Never the secret: the scrypt
 * hash and the token's digest only, made by web-credentials.ts as for the files.
 *
 * A revoked token keeps its row with `revoked_at` set (a tombstone), so a migration run again
 * from an older copy never brings it back; tombstones older than `REVOKED_KEEP_MS` are
 * trimmed, the newest `created` among them kept in the row `trimmed` (revoked, its digest no
 * token's), and a restore of a token made then or earlier is refused (web-credentials.ts).
 */
import { type Database, requireSchema, type SchemaPart } from './pg.ts';
import {
  type ApiToken,
  hashPassword,
  type KeptAdmin,
  newToken,
  passwordMatches,
  tokenDigest,
  type WebCredentials,
} from './web-credentials.ts';

export const WEB_CREDENTIALS_SCHEMA: SchemaPart = {
  name: 'web_credentials',
  migrations: [
    `CREATE TABLE malist_web_admins (
       name text PRIMARY KEY,
       hash text NOT NULL,
       changed timestamptz NOT NULL
     );
     CREATE TABLE malist_web_tokens (
       id text PRIMARY KEY,
       sha256 text NOT NULL UNIQUE,
       scopes text[] NOT NULL,
       name text,
       created timestamptz NOT NULL,
       revoked_at timestamptz
     );`,
  ],
};

interface TokenRow {
  id: string;
  sha256: string;
  scopes: string[];
  name: string | null;
  created: Date;
}

const TOKEN_COLUMNS = 'id, sha256, scopes, name, created';

/** The row that keeps the newest `created` of a token whose tombstone was trimmed (no `tok_`). */
const TRIMMED = 'trimmed';

function recordOf(row: TokenRow): ApiToken {
  return {
    id: row.id,
    scopes: row.scopes,
    ...(row.name ? { name: row.name } : {}),
    created: row.created.toISOString(),
    sha256: row.sha256,
  };
}

export class PgWebCredentials implements WebCredentials {
  private constructor(private readonly db: Database) {}

  /** The credentials on `db`, their tables created on a fresh database (else checked). */
  static async open(db: Database): Promise<PgWebCredentials> {
    await requireSchema(db, WEB_CREDENTIALS_SCHEMA);
    return new PgWebCredentials(db);
  }

  async setPassword(user: string, password: string): Promise<void> {
    const hash = await hashPassword(user, password);
    await this.db.query(
      `INSERT INTO malist_web_admins (name, hash, changed) VALUES ($1, $2, now())
       ON CONFLICT (name) DO UPDATE SET hash = EXCLUDED.hash, changed = EXCLUDED.changed`,
      [user, hash],
    );
  }

  async checkPassword(user: string, password: string): Promise<boolean> {
    const rows = await this.db.query<{ hash: string }>(
      'SELECT hash FROM malist_web_admins WHERE name = $1',
      [user],
    );
    return passwordMatches(rows[0]?.hash, password);
  }

  async admins(): Promise<string[]> {
    const rows = await this.db.query<{ name: string }>(
      'SELECT name FROM malist_web_admins ORDER BY name',
    );
    return rows.map((r) => r.name);
  }

  async createToken(scopes: string[], name?: string): Promise<{ token: string; record: ApiToken }> {
    const made = newToken(scopes, name);
    await this.insert(made.record);
    return made;
  }

  /**
   * Inserts `record` unless its id (or digest) is there, revoked or not, or it was made no
   * later than a token whose tombstone was trimmed; true when it was new.
   */
  private async insert(record: ApiToken): Promise<boolean> {
    const rows = await this.db.query(
      `INSERT INTO malist_web_tokens (id, sha256, scopes, name, created)
       SELECT $1, $2, $3, $4, $5
        WHERE NOT EXISTS (SELECT 1 FROM malist_web_tokens WHERE id = '${TRIMMED}' AND created >= $5)
       ON CONFLICT DO NOTHING RETURNING id`,
      [record.id, record.sha256, record.scopes, record.name ?? null, record.created],
    );
    return rows.length === 1;
  }

  async tokens(): Promise<ApiToken[]> {
    const rows = await this.db.query<TokenRow>(
      `SELECT ${TOKEN_COLUMNS} FROM malist_web_tokens WHERE revoked_at IS NULL ORDER BY created, id`,
    );
    return rows.map(recordOf);
  }

  async findToken(token: string): Promise<ApiToken | undefined> {
    const rows = await this.db.query<TokenRow>(
      `SELECT ${TOKEN_COLUMNS} FROM malist_web_tokens WHERE sha256 = $1 AND revoked_at IS NULL`,
      [tokenDigest(token)],
    );
    return rows[0] ? recordOf(rows[0]) : undefined;
  }

  async revokeToken(id: string): Promise<boolean> {
    const rows = await this.db.query(
      'UPDATE malist_web_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id',
      [id],
    );
    return rows.length === 1;
  }

  async kept(): Promise<{ admins: KeptAdmin[]; revoked: string[] }> {
    const admins = await this.db.query<{ user: string; hash: string; changed: Date }>(
      'SELECT name AS user, hash, changed FROM malist_web_admins ORDER BY name',
    );
    const revoked = await this.db.query<{ id: string }>(
      `SELECT id FROM malist_web_tokens WHERE revoked_at IS NOT NULL AND id <> '${TRIMMED}' ORDER BY id`,
    );
    return {
      admins: admins.map((a) => ({ user: a.user, hash: a.hash, changed: a.changed.toISOString() })),
      revoked: revoked.map((r) => r.id),
    };
  }

  async restoreAdmin({ user, hash, changed }: KeptAdmin): Promise<boolean> {
    const rows = await this.db.query(
      `INSERT INTO malist_web_admins (name, hash, changed) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO UPDATE SET hash = EXCLUDED.hash, changed = EXCLUDED.changed
        WHERE malist_web_admins.changed < EXCLUDED.changed
       RETURNING name`,
      [user, hash, changed],
    );
    return rows.length === 1;
  }

  restoreToken(record: ApiToken): Promise<boolean> {
    return this.insert(record);
  }

  /**
   * Revoked here too; an id this database never had is kept as a revoked row (its digest a
   * placeholder no token hashes to: `revoked:ID`), so a later copy cannot bring it back.
   */
  async restoreRevoked(id: string): Promise<boolean> {
    const rows = await this.db.query(
      `INSERT INTO malist_web_tokens (id, sha256, scopes, name, created, revoked_at)
       VALUES ($1, $2, '{}', NULL, now(), now())
       ON CONFLICT (id) DO UPDATE SET revoked_at = now()
        WHERE malist_web_tokens.revoked_at IS NULL
       RETURNING id`,
      [id, `revoked:${id}`],
    );
    return rows.length === 1;
  }

  async trimRevoked(before: number): Promise<number> {
    return this.db.transaction(async (tx) => {
      const gone = await tx.query<{ created: Date }>(
        `DELETE FROM malist_web_tokens WHERE revoked_at < $1 AND id <> '${TRIMMED}' RETURNING created`,
        [new Date(before)],
      );
      if (gone.length === 0) return 0;
      const upTo = new Date(Math.max(...gone.map((g) => g.created.getTime())));
      // In the same transaction: the mark is there before any tombstone is gone.
      await tx.query(
        `INSERT INTO malist_web_tokens (id, sha256, scopes, name, created, revoked_at)
         VALUES ('${TRIMMED}', 'trimmed:', '{}', NULL, $1, now())
         ON CONFLICT (id) DO UPDATE SET created = GREATEST(malist_web_tokens.created, EXCLUDED.created)`,
        [upTo],
      );
      return gone.length;
    });
  }
}
