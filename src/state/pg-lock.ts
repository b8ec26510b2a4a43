/**
 * A liveness lease on PostgreSQL: a session-level advisory lock `(space, id)` held on a
 * connection of its own for as long as its holder runs. The lock dies with the session — the
 * process killed, the host gone, the connection cut — and with nothing else: no clock, no
 * heartbeat. Another process learns that a holder is gone when it can take the lock
 * (`isLockFree`). The queue's workers (queue/pg-lease.ts) and the journal's claims
 * (pg-journal.ts) both hold one.
 */
import type { Database, Sql } from './pg.ts';

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
      held({ id, backend: b?.pid as number });
      await ended;
      // A broken connection goes back to the pool as broken (session() drops it).
      if (lost) throw new Error(`the connection holding advisory lock (${space}, ${id}) was lost`);
      await s.query('SELECT pg_advisory_unlock($1, $2)', [space, id]);
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

/** True when lock `(space, id)` is free: its holder's session, and so the holder, is gone. */
export async function isLockFree(sql: Sql, space: number, id: number): Promise<boolean> {
  const [row] = await sql.query<{ free: boolean }>(
    `SELECT CASE WHEN pg_try_advisory_lock($1, $2) THEN pg_advisory_unlock($1, $2)
            ELSE false END AS free`,
    [space, id],
  );
  return row?.free === true;
}
