/**
 * The durable post counter behind a `%d` subject prefix. The same mail (same key) always
 * gets the same number, so a crash and a retry do not burn numbers or send two subjects;
 * a lock file (owner's pid inside) keeps two processes from handing out one number twice.
 */
import { open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFileDurable } from '../state/durable.ts';
import { safeName } from '../state/safe-name.ts';

interface CounterFile {
  next: number;
  /** Recent (mail key, number) pairs, newest last. */
  recent: [string, number][];
}

const RECENT = 500;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function withLock<T>(path: string, run: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 200) throw error;
      const owner = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
      // A lock whose owner is provably gone is taken over; a live one is waited for.
      if (owner > 0 && !alive(owner)) await unlink(path).catch(() => {});
      else await sleep(10);
    }
  }
  try {
    return await run();
  } finally {
    await unlink(path).catch(() => {});
  }
}

export class PostCounter {
  private memory: CounterFile = { next: 1, recent: [] };
  /** @param dir the list's state directory; undefined keeps the counter in memory */
  constructor(
    readonly dir: string | undefined,
    readonly list: string,
  ) {}

  /** The number of the post with this key, assigning the next one on first sight. */
  async numberFor(key: string): Promise<number> {
    if (!this.dir) return assign(this.memory, key);
    const base = join(this.dir, 'counters', safeName(this.list));
    const file = join(base, 'post-number.json');
    await writeFileDurable(join(base, '.keep'), '');
    return withLock(join(base, 'post-number.lock'), async () => {
      let state: CounterFile = { next: 1, recent: [] };
      try {
        state = JSON.parse(await readFile(file, 'utf8')) as CounterFile;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
      const before = state.next;
      const n = assign(state, key);
      if (state.next !== before) await writeFileDurable(file, JSON.stringify(state));
      return n;
    });
  }
}

function assign(state: CounterFile, key: string): number {
  const known = state.recent.find(([k]) => k === key);
  if (known) return known[1];
  const n = state.next++;
  state.recent.push([key, n]);
  if (state.recent.length > RECENT) state.recent.splice(0, state.recent.length - RECENT);
  return n;
}
