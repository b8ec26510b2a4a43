/**
 * The post counters behind a `%d` subject prefix, behind one interface with two backends:
 * a file per list under the lists' state directory (`counters/<list>/post-number.json`, the
 * default) or PostgreSQL rows (pg-counters.ts) that every host shares. The same mail (same
 * key) always gets the same number, so a crash and a retry do not burn numbers or send two
 * subjects; no two mails get one number, whichever process or host asks.
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurable } from './durable.ts';
import { withFileLock } from './lock.ts';
import { safeName } from './safe-name.ts';

/** One list's counter as a migration copies it. */
export interface StoredCounter {
  list: string;
  /** The number the next post gets. */
  next: number;
  /** Recent (mail key, number) pairs, oldest first. */
  recent: [string, number][];
}

export interface PostCounters {
  /** The number of the post with this key in `list`, assigning the next one on first sight. */
  numberFor(list: string, key: string): Promise<number>;
  /** Every list's counter (for `malist storage migrate`). */
  all(): AsyncIterable<StoredCounter>;
  /**
   * Takes a copied counter: `next` only ever goes up, and the recent keys keep their
   * numbers. Returns whether anything changed.
   */
  merge(counter: StoredCounter): Promise<boolean>;
}

interface CounterFile {
  next: number;
  /** Recent (mail key, number) pairs, newest last. */
  recent: [string, number][];
  /** The list's name as given (the directory is its safe form); absent in older files. */
  list?: string;
}

/** How many recent keys a counter remembers (a retry comes long before 500 more posts). */
export const RECENT_KEYS = 500;

export function assignNumber(state: CounterFile, key: string): number {
  const known = state.recent.find(([k]) => k === key);
  if (known) return known[1];
  const n = state.next++;
  state.recent.push([key, n]);
  if (state.recent.length > RECENT_KEYS) state.recent.splice(0, state.recent.length - RECENT_KEYS);
  return n;
}

/** In memory only (a list without a state directory): numbers start at 1 in each process. */
export function memoryCounters(): PostCounters {
  const lists = new Map<string, CounterFile>();
  const of = (list: string) => {
    let state = lists.get(list);
    if (!state) {
      state = { next: 1, recent: [] };
      lists.set(list, state);
    }
    return state;
  };
  return {
    numberFor: async (list, key) => assignNumber(of(list), key),
    async *all() {
      for (const [list, s] of lists) yield { list, next: s.next, recent: s.recent };
    },
    async merge(counter) {
      return mergeInto(of(counter.list), counter);
    },
  };
}

function mergeInto(state: CounterFile, counter: StoredCounter): boolean {
  let changed = false;
  if (counter.next > state.next) {
    state.next = counter.next;
    changed = true;
  }
  const known = new Set(state.recent.map(([k]) => k));
  for (const pair of counter.recent)
    if (!known.has(pair[0])) {
      state.recent.push(pair);
      changed = true;
    }
  state.recent.sort((a, b) => a[1] - b[1]);
  if (state.recent.length > RECENT_KEYS) state.recent.splice(0, state.recent.length - RECENT_KEYS);
  return changed;
}

/** The files under `dir` (the lists' state directory), each read and written under a file lock. */
export class FileCounters implements PostCounters {
  constructor(readonly dir: string) {}

  private async update<T>(
    list: string,
    fn: (state: CounterFile) => { out: T; changed: boolean },
  ): Promise<T> {
    const base = join(this.dir, 'counters', safeName(list));
    const file = join(base, 'post-number.json');
    await mkdir(base, { recursive: true });
    return withFileLock(file, async () => {
      let state: CounterFile = { next: 1, recent: [] };
      try {
        state = JSON.parse(await readFile(file, 'utf8')) as CounterFile;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
      const { out, changed } = fn(state);
      if (changed) await writeFileDurable(file, JSON.stringify({ ...state, list }));
      return out;
    });
  }

  numberFor(list: string, key: string): Promise<number> {
    return this.update(list, (state) => {
      const before = state.next;
      const out = assignNumber(state, key);
      return { out, changed: state.next !== before };
    });
  }

  merge(counter: StoredCounter): Promise<boolean> {
    return this.update(counter.list, (state) => {
      const changed = mergeInto(state, counter);
      return { out: changed, changed };
    });
  }

  async *all(): AsyncIterable<StoredCounter> {
    const root = join(this.dir, 'counters');
    for (const name of (await readdir(root).catch(() => [] as string[])).sort()) {
      try {
        const state = JSON.parse(
          await readFile(join(root, name, 'post-number.json'), 'utf8'),
        ) as CounterFile;
        yield { list: state.list ?? name, next: state.next, recent: state.recent };
      } catch {
        // no counter yet (a lock file only), or unreadable: nothing to copy
      }
    }
  }
}
