/**
 * A liveness lease on PostgreSQL: a session-level advisory lock `(space, id)` held on a
 * connection of its own for as long as its holder runs. The lock dies with the session — the
 * process killed, the host gone, the connection cut — and with nothing else: no clock, no
 * heartbeat. Another process learns that a holder is gone when it can take the lock
 * (`isLockFree`).
 *
 * A process holds ONE such lease, its *process lease* (`processLease`): one connection, one
 * lock `(HOLDER_SPACE, holder number)`, and a row in `malist_holders` naming the host and
 * PID behind the number (for `malist queue list`). The queue's recipient claims
 * (queue/pg-store.ts) and the journal's mail claims (pg-journal.ts) both name that number;
 * a claim whose holder's lock can be taken is a dead holder's, whichever store it is in.
 * Built once per process by the composition root (config/storage-pg.ts).
 *
 * When the lease's connection ends while the process lives (a network cut, the server
 * restarted, an operator's pg_terminate_backend), `lost()` turns true at once — set by the
 * connection's `error`/`end` event, so checking it costs nothing — and every claim made
 * under it must stop: the queue sends to nobody more of such a claim, the journal records
 * nothing under it. The next claim takes a new holder number on a new connection.
 *
 * A cut that sends nothing (a firewall dropping the flow: no FIN, no RST) ends no
 * connection by itself, so the lease's session is also watched (`silenceMs`, 60 s by
 * default): the server ends it when it hears nothing from the holder for that long
 * (`idle_session_timeout`, PostgreSQL 14 and later), which frees the lock for the others,
 * and the holder asks `SELECT 1` every third of it, counting the lease lost when no answer
 * comes within a third. So a silent cut is noticed on both sides within `silenceMs`.
 */
import { hostname } from 'node:os';
import { type Database, requireSchema, type SchemaPart, type Sql } from './pg.ts';

export interface SessionLock {
  /** The lock's second key: the holder's number. */
  readonly id: number;
  /** The server process holding the lock (a claim can check the lock is still there). */
  readonly backend: number;
  /** Whether the lock's connection has ended while its holder lives (its lock is gone). */
  lost(): boolean;
  /** Gives the lock back and returns the connection to the pool. */
  end(): Promise<void>;
}

/**
 * Takes a lock in `space` on a connection of its own and keeps it until `end()`. `lock` runs
 * on that connection, takes the session lock (`pg_advisory_lock` or a successful
 * `pg_try_advisory_lock`) and returns its id. A connection that fails marks the lock lost
 * and goes back to the pool as broken.
 */
export async function holdSessionLock(
  db: Database,
  space: number,
  lock: (sql: Sql) => Promise<number>,
  silenceMs = LEASE_SILENCE_MS,
): Promise<SessionLock> {
  let lost = false;
  let endNow!: () => void;
  const ended = new Promise<void>((resolve) => {
    endNow = resolve;
  });
  let held!: (taken: { id: number; backend: number }) => void;
  let failed!: (error: unknown) => void;
  const taken = new Promise<{ id: number; backend: number }>((resolve, reject) => {
    held = resolve;
    failed = reject;
  });
  const session = db
    .session(async (s) => {
      const gone = () => {
        lost = true;
        endNow();
      };
      s.client.on('error', gone);
      s.client.on('end', gone);
      const id = await lock(s);
      const [b] = await s.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      // Older servers lack the setting: the heartbeat still notices a cut on this side.
      await s.query(`SET idle_session_timeout = ${Math.round(silenceMs)}`).catch(() => {});
      held({ id, backend: b?.pid as number });
      const beat = setInterval(() => {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('no answer')), silenceMs / 3);
        });
        Promise.race([s.query('SELECT 1'), late])
          .catch(() => {
            if (lost) return;
            gone();
            // Nothing will come back on it: drop the socket rather than wait for it.
            (
              s.client as unknown as { connection?: { stream?: { destroy(): void } } }
            ).connection?.stream?.destroy();
          })
          .finally(() => clearTimeout(timer));
      }, silenceMs / 3);
      beat.unref();
      await ended;
      clearInterval(beat);
      // A broken connection goes back to the pool as broken (session() drops it).
      if (lost) throw new Error(`the connection holding advisory lock (${space}, ${id}) was lost`);
      await s.query('SELECT pg_advisory_unlock($1, $2)', [space, id]);
      // Back in the pool, the connection is an ordinary one again.
      await s.query('RESET idle_session_timeout').catch(() => {});
    })
    .catch((error: unknown) => {
      lost = true;
      failed(error);
    });
  const { id, backend } = await taken;
  return {
    id,
    backend,
    lost: () => lost,
    async end() {
      endNow();
      await session;
    },
  };
}

/** How long a lease's session may hear nothing before either side counts it gone. */
export const LEASE_SILENCE_MS = 60_000;

/** True when lock `(space, id)` is free: its holder's session, and so the holder, is gone. */
export async function isLockFree(sql: Sql, space: number, id: number): Promise<boolean> {
  const [row] = await sql.query<{ free: boolean }>(
    `SELECT CASE WHEN pg_try_advisory_lock($1, $2) THEN pg_advisory_unlock($1, $2)
            ELSE false END AS free`,
    [space, id],
  );
  return row?.free === true;
}

/** The first key of every process lease's advisory lock ("mlho"); the second is its number. */
export const HOLDER_SPACE = 0x6d6c686f;

/**
 * The process leases' part of the schema: who is behind a holder number (a claim names only
 * the number). A row outlives its holder until `forgetHolders`; the lock, not the row, says
 * whether the holder lives.
 */
export const HOLDERS_SCHEMA: SchemaPart = {
  name: 'holders',
  migrations: [
    `CREATE TABLE malist_holders (
       id integer PRIMARY KEY,
       host text NOT NULL,
       pid integer NOT NULL,
       started timestamptz NOT NULL DEFAULT now()
     );`,
  ],
};

/** A process's one lease on a database, taken when first needed, renewed after a loss. */
export interface ProcessLease {
  /**
   * The live holder: the current one, or a new number on a new connection when the last
   * was lost (claims made under the lost one stay lost: check each claim's own holder).
   */
  holder(): Promise<SessionLock>;
  /** The current holder, if one was taken (for queries that exclude ourselves). */
  readonly current: SessionLock | undefined;
  /** Gives the lock back and returns its connection to the pool (the end of the process). */
  end(): Promise<void>;
}

/**
 * The process lease on `database` (nothing is taken before the first `holder()`).
 * `silenceMs`: see the module comment (tests shorten it).
 */
export function processLease(
  database: Database | Promise<Database>,
  silenceMs = LEASE_SILENCE_MS,
): ProcessLease {
  let taking: Promise<SessionLock> | undefined;
  let current: SessionLock | undefined;
  const take = async (): Promise<SessionLock> => {
    const db = await database;
    await requireSchema(db, HOLDERS_SCHEMA);
    const held = await holdSessionLock(db, HOLDER_SPACE, lockFreshHolder, silenceMs);
    current = held;
    return held;
  };
  // A new holder, once: concurrent callers that found the same lost one share it.
  const renew = (old: Promise<SessionLock> | undefined): Promise<SessionLock> => {
    if (taking === old) {
      taking = take();
      taking.catch(() => {});
    }
    return taking as Promise<SessionLock>;
  };
  return {
    get current() {
      return current;
    },
    holder() {
      const now = taking;
      if (!now) return renew(undefined);
      return now.then(
        (held) => (held.lost() ? renew(now) : held),
        () => renew(now),
      );
    },
    async end() {
      const held = await taking?.catch(() => undefined);
      taking = undefined;
      current = undefined;
      await held?.end();
    },
  };
}

/**
 * Locks a random holder number no live process holds, on this session, and names this
 * process in its row (a row a dead holder left with the same number is replaced). Random,
 * not a sequence: a number is never reused while its holder lives (the lock says so), and
 * needs nothing to hand it out.
 */
async function lockFreshHolder(sql: Sql): Promise<number> {
  for (;;) {
    const id = 1 + Math.floor(Math.random() * 0x7ffffffe);
    const [row] = await sql.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [
      HOLDER_SPACE,
      id,
    ]);
    if (!row?.ok) continue;
    await sql.query(
      `INSERT INTO malist_holders (id, host, pid) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid, started = now()`,
      [id, hostname(), process.pid],
    );
    return id;
  }
}

/** True when holder `id` is gone: its lease's session, and so its process, ended. */
export function isHolderGone(sql: Sql, id: number): Promise<boolean> {
  return isLockFree(sql, HOLDER_SPACE, id);
}

/** The host and PID behind holder `id` (for `malist queue list`); undefined when unknown. */
export async function holderOf(
  sql: Sql,
  id: number,
): Promise<{ host: string; pid: number } | undefined> {
  const [row] = await sql.query<{ host: string; pid: number }>(
    'SELECT host, pid FROM malist_holders WHERE id = $1',
    [id],
  );
  return row;
}

/** Forgets holders gone for a day (their rows only name them; a live lock keeps its row). */
export async function forgetHolders(sql: Sql): Promise<void> {
  await sql.query(
    `DELETE FROM malist_holders h WHERE started < now() - interval '1 day'
        AND CASE WHEN pg_try_advisory_lock($1, h.id) THEN pg_advisory_unlock($1, h.id)
            ELSE false END`,
    [HOLDER_SPACE],
  );
}
