/**
 * The durable post counter behind a `%d` subject prefix. The same mail (same key) always
 * gets the same number, so a crash and a retry do not burn numbers or send two subjects;
 * the shared file lock (state/lock.ts) keeps two processes from handing out one
 * number twice.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurable } from '../state/durable.ts';
import { withFileLock } from '../state/lock.ts';
import { safeName } from '../state/safe-name.ts';

interface CounterFile {
  next: number;
  /** Recent (mail key, number) pairs, newest last. */
  recent: [string, number][];
}

const RECENT = 500;

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
    await mkdir(base, { recursive: true });
    return withFileLock(file, async () => {
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
