import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listPost, type QueueFixture, queueFixture } from './helpers.ts';

let fx: QueueFixture;
afterEach(async () => {
  await fx?.close();
});

describe('queue retention', () => {
  it('keeps done records and sent-logs for keep_done_seconds, then purges them', async () => {
    let now = Date.now();
    fx = await queueFixture({ keep_done_seconds: 60, now: () => now });
    const post = listPost('r1', ['a@x.test']);
    await fx.distributor.distribute(post);
    await fx.distributor.queue.run();
    expect(await readdir(join(fx.spool, 'done'))).toHaveLength(1);
    expect(await readdir(join(fx.spool, 'sent'))).toHaveLength(1);
    await fx.distributor.distribute(post); // within retention: not sent again
    expect(fx.server.count('a@x.test')).toBe(1);
    now += 61_000;
    await fx.distributor.queue.run();
    expect(await readdir(join(fx.spool, 'done'))).toEqual([]);
    expect(await readdir(join(fx.spool, 'sent'))).toEqual([]);
  });
});
