import { describe, expect, it } from 'vitest';
import { createScheduler, drain, isFull, schedule, waitForRoom } from './scheduler.ts';

/** A task that runs until `release()`; `started` says whether it began. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  const task = {
    started: false,
    release: () => open(),
    run: async () => {
      task.started = true;
      await opened;
    },
  };
  return task;
}

describe('scheduler', () => {
  it('is full at its concurrency and has room again once a task ends', async () => {
    const scheduler = createScheduler(2);
    const [a, b] = [gate(), gate()];
    schedule(scheduler, 'a', a.run);
    expect(isFull(scheduler)).toBe(false);
    schedule(scheduler, 'b', b.run);
    expect(isFull(scheduler)).toBe(true);
    const room = waitForRoom(scheduler);
    b.release();
    await room;
    expect(isFull(scheduler)).toBe(false);
    a.release();
    await drain(scheduler);
    expect(scheduler.inFlight.size).toBe(0);
    expect(scheduler.byKey.size).toBe(0);
  });

  it('runs a task with the same key only after the one in hand', async () => {
    const scheduler = createScheduler(4);
    const [first, second, other] = [gate(), gate(), gate()];
    schedule(scheduler, 'k', first.run);
    schedule(scheduler, 'k', second.run);
    schedule(scheduler, 'x', other.run);
    await Promise.resolve();
    await Promise.resolve();
    expect([first.started, second.started, other.started]).toEqual([true, false, true]);
    first.release();
    other.release();
    await waitForRoom(scheduler);
    await new Promise((resolve) => setImmediate(resolve));
    expect(second.started).toBe(true);
    second.release();
    await drain(scheduler);
  });

  it('takes at least one task at a time', () => {
    expect(createScheduler(0).concurrency).toBe(1);
    expect(createScheduler(2.7).concurrency).toBe(2);
    expect(createScheduler().concurrency).toBe(1);
  });
});
