/**
 * A queue worker's lease on PostgreSQL: a row in `queue_workers` (its id) and a
 * session-level `pg_advisory_lock(LEASE_SPACE, id)` held on a connection of its own for as
 * long as the worker runs (state/pg-lock.ts). The lock dies with the session — the process killed, the host
 * gone, the connection cut — and with nothing else: no clock, no heartbeat. Another worker
 * learns that a lease is gone when `pg_try_advisory_lock` on it succeeds (and gives it
 * back in the same statement: a dead worker's id is never used again, ids are a serial).
 */
import { hostname } from 'node:os';
import type { Database, Sql } from '../state/pg.ts';
import { holdSessionLock, isLockFree } from '../state/pg-lock.ts';

/** The first key of every worker's advisory lock ("mlqu"); the second is the worker's id. */
export const LEASE_SPACE = 0x6d6c7175;

export interface Lease {
  /** This worker's id; throws once the lease is lost (the worker must claim nothing more). */
  id(): number;
  /** The id, or undefined before the lease is taken (for queries that exclude ourselves). */
  readonly known: number | undefined;
  /** The server process holding the lock (a claim checks the lock is still there). */
  readonly backend: number;
  /** Whether the lease's connection has ended while the worker lives. */
  lost(): boolean;
  /** Gives the lock back and returns the connection to the pool. */
  end(): Promise<void>;
}

/** Registers a worker and takes its lease; resolves once the lock is held. */
export async function takeLease(db: Database): Promise<Lease> {
  const [row] = await db.query<{ id: number }>(
    'INSERT INTO queue_workers (host, pid) VALUES ($1, $2) RETURNING id',
    [hostname(), process.pid],
  );
  const id = row?.id as number;
  const held = await holdSessionLock(db, LEASE_SPACE, async (s) => {
    await s.query('SELECT pg_advisory_lock($1, $2)', [LEASE_SPACE, id]);
    return id;
  });
  return {
    known: id,
    backend: held.backend,
    lost: held.lost,
    id() {
      if (held.lost())
        throw new Error(
          `queue worker ${id} lost its lease (its database connection ended): it claims nothing more; restart it`,
        );
      return id;
    },
    end: held.end,
  };
}

/** True when worker `id`'s lease is free: its session, and so the worker, is gone. */
export function isLeaseGone(sql: Sql, id: number): Promise<boolean> {
  return isLockFree(sql, LEASE_SPACE, id);
}

/** Forgets workers gone for a day that hold nothing (their rows only name them). */
export async function forgetWorkers(sql: Sql, self: number | undefined): Promise<void> {
  await sql.query(
    `DELETE FROM queue_workers w WHERE id <> $2 AND started < now() - interval '1 day'
        AND NOT EXISTS (SELECT 1 FROM queue_recipients r WHERE r.claimed_by = w.id)
        AND CASE WHEN pg_try_advisory_lock($1, w.id) THEN pg_advisory_unlock($1, w.id)
            ELSE false END`,
    [LEASE_SPACE, self ?? -1],
  );
}
