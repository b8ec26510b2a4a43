/**
 * The durable post counter behind a `%d` subject prefix. The same mail (same key) always
 * gets the same number, so a crash and a retry do not burn numbers or send two subjects;
 * the counters (state/counters.ts: a file under a lock, or PostgreSQL rows every host
 * shares) keep two processes from handing out one number twice.
 */
import { FileCounters, memoryCounters, type PostCounters } from '../state/counters.ts';

export class PostCounter {
  private readonly counters: PostCounters;
  /**
   * @param where the list's state directory, or the counters the composition root built
   *   (`storage:`); undefined keeps the counter in memory
   */
  constructor(
    where: string | PostCounters | undefined,
    readonly list: string,
  ) {
    this.counters =
      where === undefined
        ? memoryCounters()
        : typeof where === 'string'
          ? new FileCounters(where)
          : where;
  }

  /** The number of the post with this key, assigning the next one on first sight. */
  numberFor(key: string): Promise<number> {
    return this.counters.numberFor(this.list, key);
  }
}
