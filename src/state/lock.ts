/**
 * A run lock that dies with its holder: the lock file names the holder (host, PID, process
 * start time, see queue/process-lock.ts) and is taken over only when that process is
 * provably gone — never because of its age. `malist run` holds it so overlapping cron runs
 * do not fetch the same mailbox twice.
 */
import { link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  currentHolder,
  formatHolder,
  type Holder,
  isHolderGone,
  parseHolder,
} from '../queue/process-lock.ts';

export interface RunLock {
  release(): Promise<void>;
}

export type LockResult = { lock: RunLock } | { busy: Holder | undefined };

/** Takes the lock at `path`, or says who holds it. Reclaims a lock whose holder is gone. */
export async function acquireLock(path: string): Promise<LockResult> {
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
      const holder = parseHolder(text);
      if (text === '') continue; // released meanwhile
      if (!holder || !isHolderGone(holder)) return { busy: holder };
      // The holder is gone: move its lock aside, and put it back if it was not the one we judged.
      const aside = `${path}.stale.${process.pid}`;
      try {
        await rename(path, aside);
      } catch {
        continue;
      }
      const taken = (await readFile(aside, 'utf8').catch(() => '')).trim();
      if (taken !== text) await link(aside, path).catch(() => {});
      await unlink(aside).catch(() => {});
    }
    const holder = parseHolder((await readFile(path, 'utf8').catch(() => '')).trim());
    return { busy: holder };
  } finally {
    await unlink(mine).catch(() => {});
  }
}
