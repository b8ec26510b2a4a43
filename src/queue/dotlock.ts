/**
 * A dot-lock (`file.lock`, created with O_EXCL), the mbox locking that mutt, procmail and
 * mail(1) agree on. It holds our holder (host@pid@start) so a lock left by a dead malist
 * process is removed at once; a foreign lock (procmail writes none) is broken only when
 * older than `staleSeconds`, as procmail does.
 */
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { currentHolder, formatHolder, isHolderGone, parseHolder } from './process-lock.ts';

export interface DotlockOptions {
  /** Give up waiting after this long, ms. @default 10000 */
  timeoutMs?: number;
  /** A lock not ours older than this is stale, seconds. @default 300 */
  staleSeconds?: number;
}

async function breakIfStale(lockPath: string, staleSeconds: number): Promise<void> {
  try {
    const content = (await readFile(lockPath, 'utf8')).trim();
    const holder = parseHolder(content);
    const info = await stat(lockPath);
    const stale = holder ? isHolderGone(holder) : Date.now() - info.mtimeMs > staleSeconds * 1000;
    if (stale) await unlink(lockPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** Runs `fn` holding `path`.lock; throws when the lock cannot be had in time. */
export async function withDotlock<T>(
  path: string,
  fn: () => Promise<T>,
  options: DotlockOptions = {},
): Promise<T> {
  const lockPath = `${path}.lock`;
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let delay = 5;
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx', 0o644);
      try {
        await handle.writeFile(`${formatHolder(currentHolder())}\n`);
      } finally {
        await handle.close();
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      await breakIfStale(lockPath, options.staleSeconds ?? 300);
      if (Date.now() > deadline) throw new Error(`${lockPath} is held by another process`);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 200);
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(lockPath).catch(() => {});
  }
}
