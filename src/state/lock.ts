/**
 * The one lock module: locks that die with their holder. A holder is the host, the PID and
 * the process start time (from /proc, so a recycled PID is not mistaken for the old
 * process); a lock or a queue claim is taken over only when its holder is provably gone —
 * never because of its age. A holder on another host is never judged gone: this host cannot
 * prove that process dead.
 *
 * - `acquireLock(path)`: the run lock (`malist run`, so overlapping cron runs do not fetch one
 *   mailbox twice): take it or learn who holds it.
 * - `withFileLock(path, fn)`: waits for `PATH.lock` around an edit of a file several processes
 *   write (a list's YAML, bounce state, post numbers).
 * - `withDotlock(path, fn)`: the mbox dot-lock that mutt, procmail and mail(1) agree on; a
 *   foreign lock (procmail writes no holder) is broken only when older than `staleSeconds`,
 *   as procmail does.
 * - `currentHolder`, `formatHolder`, `parseHolder`, `isHolderGone`: the queue names its
 *   claims after their holder with these.
 */
import { readFileSync } from 'node:fs';
import { link, mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';

export interface Holder {
  host: string;
  pid: number;
  /** Start time in clock ticks since boot ('0' where /proc is not available). */
  start: string;
}

/** The start time of `pid` from /proc/<pid>/stat, or undefined when it cannot be read. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

let self: Holder | undefined;

/** This process as a holder. */
export function currentHolder(): Holder {
  if (!self || self.pid !== process.pid) {
    self = {
      host: hostname().replace(/[@/\s]/g, '_') || 'localhost',
      pid: process.pid,
      start: processStartTime(process.pid) ?? '0',
    };
  }
  return self;
}

/** `host@pid@start`: the content of a lock file and the suffix of a claimed entry's name. */
export function formatHolder(holder: Holder): string {
  return `${holder.host}@${holder.pid}@${holder.start}`;
}

/** Parses `host@pid@start`, or undefined for anything else. */
export function parseHolder(text: string): Holder | undefined {
  const parts = text.split('@');
  if (parts.length < 3) return undefined;
  const start = parts.pop() as string;
  const pid = Number(parts.pop());
  const host = parts.join('@');
  if (!Number.isInteger(pid) || pid <= 0 || host === '') return undefined;
  return { host, pid, start };
}

/** True only when the holder's process certainly no longer exists. */
export function isHolderGone(holder: Holder): boolean {
  if (holder.host !== currentHolder().host) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
  const start = processStartTime(holder.pid);
  return start !== undefined && holder.start !== '0' && start !== holder.start;
}

export interface RunLock {
  release(): Promise<void>;
}

export type LockResult = { lock: RunLock } | { busy: Holder | undefined };

export interface AcquireOptions {
  /**
   * A lock that names no holder of ours (procmail's empty dot-lock) is stale once older than
   * this, ms. Unset: such a lock is held for ever (it cannot be proved gone).
   */
  foreignStaleMs?: number;
}

/** Whether the lock whose content is `text` may be taken over. */
async function isStale(path: string, text: string, options: AcquireOptions): Promise<boolean> {
  const holder = parseHolder(text);
  if (holder) return isHolderGone(holder);
  if (options.foreignStaleMs === undefined) return false;
  const info = await stat(path).catch(() => undefined);
  return info !== undefined && Date.now() - info.mtimeMs > options.foreignStaleMs;
}

/** Moves a stale lock aside; puts it back if it changed since it was judged. */
async function takeOver(path: string, judged: string): Promise<void> {
  const aside = `${path}.stale.${process.pid}`;
  try {
    await rename(path, aside);
  } catch {
    return;
  }
  const taken = (await readFile(aside, 'utf8').catch(() => '')).trim();
  if (taken !== judged) await link(aside, path).catch(() => {});
  await unlink(aside).catch(() => {});
}

/** Takes the lock at `path`, or says who holds it. Reclaims a lock whose holder is gone. */
export async function acquireLock(path: string, options: AcquireOptions = {}): Promise<LockResult> {
  await mkdir(dirname(path), { recursive: true });
  const me = formatHolder(currentHolder());
  const mine = `${path}.${process.pid}.tmp`;
  await writeFile(mine, `${me}\n`);
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        // link() is atomic and fails when the lock exists: at most one winner.
        await link(mine, path);
        return {
          lock: {
            async release() {
              const now = await readFile(path, 'utf8').catch(() => '');
              if (now.trim() === me) await unlink(path).catch(() => {});
            },
          },
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const text = (await readFile(path, 'utf8').catch(() => '')).trim();
      if (text === '' && options.foreignStaleMs === undefined) continue; // released meanwhile
      if (!(await isStale(path, text, options))) return { busy: parseHolder(text) };
      await takeOver(path, text);
    }
    const holder = parseHolder((await readFile(path, 'utf8').catch(() => '')).trim());
    return { busy: holder };
  } finally {
    await unlink(mine).catch(() => {});
  }
}

/** Waits for the lock at `lockPath` until `timeoutMs`, backing off; throws naming the holder. */
async function waitForLock(
  lockPath: string,
  timeoutMs: number,
  options: AcquireOptions = {},
): Promise<RunLock> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    const taken = await acquireLock(lockPath, options);
    if ('lock' in taken) return taken.lock;
    if (Date.now() > deadline)
      throw new Error(
        `${lockPath} is locked by ${taken.busy ? formatHolder(taken.busy) : 'another process'}`,
      );
    await new Promise((r) => setTimeout(r, Math.min(10 * 2 ** attempt, 200)));
  }
}

/** Within one process, calls on one path are chained so they never contend with themselves. */
const chains = new Map<string, Promise<unknown>>();

/** Runs `fn` holding the lock on `path` (`PATH.lock`). */
export async function withFileLock<T>(
  path: string,
  fn: () => Promise<T>,
  timeoutMs = 10_000,
): Promise<T> {
  return chained(path, () => holding(`${path}.lock`, fn, timeoutMs));
}

async function chained<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const previous = chains.get(path) ?? Promise.resolve();
  const run = previous.catch(() => {}).then(fn);
  chains.set(path, run);
  try {
    return await run;
  } finally {
    if (chains.get(path) === run) chains.delete(path);
  }
}

async function holding<T>(
  lockPath: string,
  fn: () => Promise<T>,
  timeoutMs: number,
  options: AcquireOptions = {},
): Promise<T> {
  await mkdir(dirname(lockPath), { recursive: true });
  const lock = await waitForLock(lockPath, timeoutMs, options);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

export interface DotlockOptions {
  /** Give up waiting after this long, ms. @default 10000 */
  timeoutMs?: number;
  /** A lock not ours older than this is stale, seconds. @default 300 */
  staleSeconds?: number;
}

/** Runs `fn` holding the mbox dot-lock `path`.lock; throws when it cannot be had in time. */
export async function withDotlock<T>(
  path: string,
  fn: () => Promise<T>,
  options: DotlockOptions = {},
): Promise<T> {
  return chained(path, () =>
    holding(`${path}.lock`, fn, options.timeoutMs ?? 10_000, {
      foreignStaleMs: (options.staleSeconds ?? 300) * 1000,
    }),
  );
}
