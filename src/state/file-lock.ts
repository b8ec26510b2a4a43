/**
 * A lock on a file that several processes edit (the list YAML: `malist run` and `malist
 * serve` at once): `PATH.lock` created exclusively, holding the holder's identity; a lock
 * whose holder is provably gone is taken over (a lock, not a clock). Within one process,
 * calls are chained so they never contend with themselves.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { formatHolder } from '../queue/process-lock.ts';
import { acquireLock, type RunLock } from './lock.ts';

const chains = new Map<string, Promise<unknown>>();

/**
 * Waits for the lock with the run lock's own taking (state/lock.ts): atomic with the
 * holder's identity inside, and a dead holder's lock taken over by exactly one waiter.
 */
async function acquire(lockPath: string, timeoutMs: number): Promise<RunLock> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    const taken = await acquireLock(lockPath);
    if ('lock' in taken) return taken.lock;
    if (Date.now() > deadline)
      throw new Error(
        `${lockPath} is locked by ${taken.busy ? formatHolder(taken.busy) : 'another process'}`,
      );
    await new Promise((r) => setTimeout(r, Math.min(10 * 2 ** attempt, 200)));
  }
}

/** Runs `fn` holding the lock on `path`. */
export async function withFileLock<T>(
  path: string,
  fn: () => Promise<T>,
  timeoutMs = 10_000,
): Promise<T> {
  const previous = chains.get(path) ?? Promise.resolve();
  const run = previous
    .catch(() => {})
    .then(async () => {
      const lockPath = `${path}.lock`;
      await mkdir(dirname(path), { recursive: true });
      const lock = await acquire(lockPath, timeoutMs);
      try {
        return await fn();
      } finally {
        await lock.release();
      }
    });
  chains.set(path, run);
  try {
    return await run;
  } finally {
    if (chains.get(path) === run) chains.delete(path);
  }
}
