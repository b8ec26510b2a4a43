import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listPost, type QueueFixture, queueFixture } from './helpers.ts';

let fx: QueueFixture;
afterEach(async () => {
  await fx?.close();
});

describe('queue retention', () => {
  it('a post finished in its first round: its sent-log stops a re-send for keep_done_seconds, then goes', async () => {
    let now = Date.now();
    fx = await queueFixture({ keep_done_seconds: 60, now: () => now });
    const post = listPost('r1', ['a@x.test']);
    await fx.distributor.distribute(post);
    await fx.distributor.queue.run();
    expect(await readdir(join(fx.spool, 'done'))).toEqual([]);
    expect(await readdir(join(fx.spool, 'sent'))).toHaveLength(1);
    await fx.distributor.distribute(post); // within retention: not sent again
    expect(fx.server.count('a@x.test')).toBe(1);
    now += 61_000;
    await fx.distributor.queue.run();
    expect(await readdir(join(fx.spool, 'sent'))).toEqual([]);
  });

  it('a spooled entry: its done record and sent-log are kept for keep_done_seconds, then purged together', async () => {
    let now = Date.now();
    fx = await queueFixture({ keep_done_seconds: 60, now: () => now });
    fx.server.addRule({ stage: 'rcpt', recipient: 'soft@x.test', reply: { code: 451 }, times: 1 });
    const post = listPost('r2', ['a@x.test', 'soft@x.test']);
    await fx.distributor.distribute(post);
    await fx.distributor.queue.run({ force: true });
    expect(await readdir(join(fx.spool, 'done'))).toHaveLength(1);
    expect(await readdir(join(fx.spool, 'sent'))).toHaveLength(1);
    const again = await fx.distributor.distribute(post); // the done record answers
    expect(again.results.map((r) => r.status)).toEqual(['delivered', 'delivered']);
    expect(fx.server.count('a@x.test')).toBe(1);
    expect(fx.server.count('soft@x.test')).toBe(1);
    now += 61_000;
    await fx.distributor.queue.run();
    expect(await readdir(join(fx.spool, 'done'))).toEqual([]);
    expect(await readdir(join(fx.spool, 'sent'))).toEqual([]);
  });
});
