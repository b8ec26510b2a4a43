/**
 * The PostgreSQL side of malist's state: one connection pool per process and the versioned
 * schema every store on PostgreSQL keeps its tables in.
 *
 * Each store (the queue, the journal, held mail, …) owns a *part* of the schema: a name
 * and an ordered list of migrations (SQL texts). `upgradeSchema` applies the ones a
 * database has not seen, in one transaction per migration, under an advisory lock so two
 * workers starting together never both apply one; `malist_schema` records each part's
 * version. Stores call `requireSchema` when they open: a database older than the code is
 * upgraded only by `malist storage upgrade` (the operator's decision, with a backup), never
 * behind their back; a database newer than the code is refused.
 *
 * The client is `pg` (node-postgres), loaded only when PostgreSQL storage is configured
 * (the file-backed default never pays for it). Chosen by bench/pg-client.ts on the queue's
 * hot path (claim 100 by SKIP LOCKED, one sent-log insert per reply, mark done), 20,000
 * recipients, two rounds, 2026-12-05, load ~1: pg 1,320–1,399 rcpt/s at 99–120 µs of
 * client CPU a recipient; postgres (porsager) 933–1,355 rcpt/s at 143–172 µs. The wall time
 * is the server's commit flushes for both; pg spends less of our CPU.
 */
import type { Pool, PoolClient, QueryResultRow } from 'pg';

export interface SchemaPart {
  /** The store's name in `malist_schema` (`queue`, `journal`, …). */
  name: string;
  /** Migration n (1-based) is `migrations[n - 1]`; never edit one that shipped, add the next. */
  migrations: readonly string[];
}

/** What a store runs its statements through: the pool, or one transaction's connection. */
export interface Sql {
  query<R extends QueryResultRow = QueryResultRow>(text: string, params?: unknown[]): Promise<R[]>;
}

export interface Database extends Sql {
  /** Runs `fn` in one transaction (BEGIN … COMMIT; ROLLBACK when it throws). */
  transaction<T>(fn: (sql: Sql) => Promise<T>): Promise<T>;
  /**
   * A connection of its own for as long as `fn` runs (session state such as advisory locks
   * lives exactly as long as it: a lease that dies with its holder's session).
   */
  session<T>(fn: (sql: Sql & { client: PoolClient }) => Promise<T>): Promise<T>;
  /** The server's URL without its password (for messages and logs). */
  readonly label: string;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Connections in the pool. @default 4 */
  max?: number;
  /** `application_name`, seen in pg_stat_activity. @default malist */
  applicationName?: string;
}

/** `postgres://user:secret@host/db` → `postgres://user@host/db`: never log a password. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return parsed.toString();
  } catch {
    return '(a database URL that does not parse)';
  }
}

/** Opens a pool on `url` (a `postgres://` URL). Connections are made when first used. */
export async function openDatabase(url: string, options: OpenOptions = {}): Promise<Database> {
  const { default: pg } = await import('pg');
  // bigint columns (counts, ids) come back as JS numbers: every one malist keeps is far
  // below 2^53 (a recipient id of 2^53 is 285 years of 1,000,000 recipients a second).
  pg.types.setTypeParser(20, (text: string) => Number(text));
  const pool: Pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 4,
    application_name: options.applicationName ?? 'malist',
    // TCP keepalive on every connection: a path cut without a FIN or RST (a firewall
    // dropping the flow) ends an idle connection, and so a lease held on it, once the
    // probes go unanswered (30 s idle, then the system's interval × count: 9 × 75 s on
    // Linux by default). The server's own tcp_keepalives_* end its side (README).
    keepAlive: true,
    keepAliveInitialDelayMillis: 30_000,
  });
  // An idle connection the server drops (restart, failover) must not crash the process:
  // the pool replaces it; the statement that needed it fails and its caller decides.
  pool.on('error', () => {});
  const asSql = (client: Pool | PoolClient): Sql => ({
    query: async (text, params) => (await client.query(text, params)).rows,
  });
  return {
    ...asSql(pool),
    label: redactUrl(url),
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const out = await fn(asSql(client));
        await client.query('COMMIT');
        return out;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    async session(fn) {
      const client = await pool.connect();
      let broken = false;
      try {
        return await fn({ ...asSql(client), client });
      } catch (error) {
        broken = true;
        throw error;
      } finally {
        // A session that failed may hold locks in an unknown state: drop the connection
        // (its locks die with it) instead of handing it to the next user.
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}

const SCHEMA_TABLE = `CREATE TABLE IF NOT EXISTS malist_schema (
  part text PRIMARY KEY,
  version integer NOT NULL,
  upgraded_at timestamptz NOT NULL DEFAULT now()
)`;
/** The advisory lock key every schema change takes (an arbitrary constant, "malist" in ASCII). */
const SCHEMA_LOCK = 0x6d616c697374;

export interface PartVersion {
  part: string;
  /** What the database has. */
  version: number;
  /** What this code knows. */
  latest: number;
}

/** The version of every part in the database against what the code knows. */
export async function schemaVersions(
  db: Sql,
  parts: readonly SchemaPart[],
): Promise<PartVersion[]> {
  const exists = await db.query<{ t: string | null }>("SELECT to_regclass('malist_schema') AS t");
  const rows = exists[0]?.t
    ? await db.query<{ part: string; version: number }>('SELECT part, version FROM malist_schema')
    : [];
  const have = new Map(rows.map((r) => [r.part, r.version]));
  return parts.map((p) => ({
    part: p.name,
    version: have.get(p.name) ?? 0,
    latest: p.migrations.length,
  }));
}

/**
 * Brings every part up to the code's version; returns what each was and is. Safe to run
 * from several processes at once (the advisory lock serialises them; the second finds
 * nothing to do).
 */
export async function upgradeSchema(
  db: Database,
  parts: readonly SchemaPart[],
): Promise<{ part: string; from: number; to: number }[]> {
  const done: { part: string; from: number; to: number }[] = [];
  await db.transaction(async (sql) => {
    await sql.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
    await sql.query(SCHEMA_TABLE);
    for (const part of parts) {
      const row = await sql.query<{ version: number }>(
        'SELECT version FROM malist_schema WHERE part = $1',
        [part.name],
      );
      const from = row[0]?.version ?? 0;
      if (from > part.migrations.length)
        throw new Error(
          `the database's ${part.name} tables are at version ${from}, newer than this malist knows (${part.migrations.length}): run the newer malist, or restore the backup taken before it upgraded`,
        );
      for (let v = from; v < part.migrations.length; v++)
        await sql.query(part.migrations[v] as string);
      await sql.query(
        'INSERT INTO malist_schema (part, version) VALUES ($1, $2) ON CONFLICT (part) DO UPDATE SET version = EXCLUDED.version, upgraded_at = now()',
        [part.name, part.migrations.length],
      );
      done.push({ part: part.name, from, to: part.migrations.length });
    }
  });
  return done;
}

/**
 * Throws (with the command that fixes it) unless the database holds exactly this code's
 * version of `part`. A fresh database (no `malist_schema` at all) is created here: there is
 * nothing to lose by creating empty tables.
 */
export async function requireSchema(db: Database, part: SchemaPart): Promise<void> {
  const [state] = await schemaVersions(db, [part]);
  if (!state) return;
  if (state.version === state.latest) return;
  if (state.version === 0) {
    await upgradeSchema(db, [part]);
    return;
  }
  const what = state.version < state.latest ? 'older' : 'newer';
  throw new Error(
    `the database ${db.label} holds version ${state.version} of malist's ${part.name} tables, ${what} than this malist's ${state.latest}: ${
      what === 'older'
        ? 'back it up, then run `malist storage upgrade`'
        : 'run the malist that wrote it'
    }`,
  );
}
