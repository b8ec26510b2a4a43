/**
 * Up to `concurrency` mails in hand at once, and never two with the same bytes: a mail whose
 * key is in hand waits for that one to finish (then the journal decides whether it is new).
 */
export interface Scheduler {
  readonly concurrency: number;
  readonly inFlight: Set<Promise<void>>;
  /** The last task per mail key. */
  readonly byKey: Map<string, Promise<void>>;
}

export function createScheduler(concurrency = 1): Scheduler {
  return {
    concurrency: Math.max(1, Math.floor(concurrency)),
    inFlight: new Set(),
    byKey: new Map(),
  };
}

export function isFull(scheduler: Scheduler): boolean {
  return scheduler.inFlight.size >= scheduler.concurrency;
}

/** Resolves once one of the mails in hand is finished. */
export async function waitForRoom(scheduler: Scheduler): Promise<void> {
  await Promise.race(scheduler.inFlight);
}

/** Starts `handle` for the mail with `key`, after the one with the same key in hand, if any. */
export function schedule(scheduler: Scheduler, key: string, handle: () => Promise<void>): void {
  const { inFlight, byKey } = scheduler;
  const task: Promise<void> = (byKey.get(key) ?? Promise.resolve()).then(handle).finally(() => {
    inFlight.delete(task);
    if (byKey.get(key) === task) byKey.delete(key);
  });
  inFlight.add(task);
  byKey.set(key, task);
}

/** Waits for every mail in hand, whatever its end. */
export async function drain(scheduler: Scheduler): Promise<void> {
  await Promise.allSettled([...scheduler.inFlight]);
}
