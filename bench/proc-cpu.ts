/**
 * CPU seconds of processes the benchmark started, read from /proc (Linux), for rows that
 * report CPU beside wall time on a shared machine: a PostgreSQL server's (the postmaster,
 * the backends it has reaped and those still running) and the load average at the time.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../src/state/pg.ts';

const TICK_MS = 10; // USER_HZ is 100 on Linux.

/** utime+stime (and, with `children`, the reaped children's) of `pid`, in ms; 0 if gone. */
function cpuOf(pid: number, children: boolean): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command's closing parenthesis: state is field 3, utime 14, stime 15,
    // cutime 16, cstime 17.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const [ut, st, cut, cst] = [f[11], f[12], f[13], f[14]].map(Number) as number[];
    return ((ut ?? 0) + (st ?? 0) + (children ? (cut ?? 0) + (cst ?? 0) : 0)) * TICK_MS;
  } catch {
    return 0;
  }
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/**
 * CPU ms a PostgreSQL server has used so far: the postmaster with its reaped children,
 * plus its live children. `dataDir` holds postmaster.pid.
 */
export function postgresCpuMs(dataDir: string): number {
  const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  let ms = cpuOf(postmaster, true);
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (Number.isInteger(pid) && parentOf(pid) === postmaster) ms += cpuOf(pid, false);
  }
  return ms;
}

/** This process's CPU ms so far (user + system). */
export function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** The 1-minute load average, for the rows' notes. */
export function load1(): string {
  return (loadavg()[0] ?? 0).toFixed(1);
}

export interface PgCounters {
  /** Transactions committed in the database (pg_stat_database.xact_commit). */
  commits: number;
  /** WAL flushes to disk by the whole server (pg_stat_wal.wal_sync). */
  syncs: number;
}

/** The database's commits and the server's WAL syncs so far (statistics flushed first). */
export async function postgresCounters(url: string): Promise<PgCounters> {
  const db = await openDatabase(url);
  try {
    // A backend's counters reach the views when it goes idle or exits (at most 1 s later).
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const [row] = await db.query<{ commits: number; syncs: number }>(
      `SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()) AS commits,
              (SELECT wal_sync FROM pg_stat_wal) AS syncs`,
    );
    return { commits: Number(row?.commits ?? 0), syncs: Number(row?.syncs ?? 0) };
  } finally {
    await db.close();
  }
}
