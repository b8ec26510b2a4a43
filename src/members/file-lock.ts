/**
 * A lock on a file that several processes edit (the list YAML: `malist run` and `malist
 * serve` at once): `PATH.lock` created exclusively, holding the holder's identity; a lock
 * whose holder is provably gone is taken over (a lock, not a clock). Within one process,
 * calls are chained so they never contend with themselves.
 */
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { currentHolder, formatHolder, isHolderGone, parseHolder } from '../queue/process-lock.ts';

const chains = new Map<string, Promise<unknown>>();

async function acquire(lockPath: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(lockPath, 'wx', 0o640);
      await handle.writeFile(formatHolder(currentHolder()));
      await handle.close();
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = parseHolder((await readFile(lockPath, 'utf8').catch(() => '')).trim());
    if (holder && isHolderGone(holder)) {
      await unlink(lockPath).catch(() => {});
      continue;
    }
    if (Date.now() > deadline)
      throw new Error(
        `${lockPath} is locked by ${holder ? formatHolder(holder) : 'another process'}`,
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
      await acquire(lockPath, timeoutMs);
      try {
        return await fn();
      } finally {
        await unlink(lockPath).catch(() => {});
      }
    });
  chains.set(path, run);
  try {
    return await run;
  } finally {
    if (chains.get(path) === run) chains.delete(path);
  }
}
