/**
 * VERP through the queue: the composition root's `sender` gives each member's transaction
 * its own VERP address with a cookie, in the first round and in every retry; a list with
 * `verp: false` and mail with another sender (a probe) keep one sender, never re-encoded;
 * later deliveries are told to `onDelivered` (the sent index).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { listVerpSender } from '../../src/config/verp.ts';
import type { ListSettings } from '../../src/list/settings.ts';
import { isPostCookie } from '../../src/list/verp.ts';
import { verpDecode } from '../../src/mail/verp.ts';
import type { DeliveredEvent } from '../../src/queue/queue.ts';
import { listPost, type QueueFixture, queueFixture } from './helpers.ts';

const secret = Buffer.alloc(32, 4);
const red: ListSettings = { name: 'red', address: 'red@list.example.test', members: [] };
const blue: ListSettings = {
  name: 'blue',
  address: 'blue@list.example.test',
  members: [],
  verp: false,
};

let fx: QueueFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

describe('queue with VERP senders', () => {
  it('each member gets its own VERP address with a cookie, in the first round and in the retry', async () => {
    const delivered: DeliveredEvent[] = [];
    fx = await queueFixture({
      sender: listVerpSender([red, blue], secret, () => Date.UTC(2026, 0, 1)),
      onDelivered: (event) => {
        delivered.push(event);
      },
    });
    fx.server.addRule({ stage: 'rcpt', recipient: 'later@x.test', reply: { code: 451 }, times: 1 });
    const to = ['a@x.test', 'b@x.test', 'later@x.test'];
    await fx.distributor.distribute(listPost('v1', to));
    fx.clock.t += 61_000;
    await fx.distributor.queue.run();
    expect(fx.server.accepted).toHaveLength(3);
    for (const m of fx.server.accepted) {
      expect(m.to).toHaveLength(1);
      const parts = verpDecode('red-bounces@list.example.test', m.from)!;
      expect(parts.recipient).toBe(m.to[0]);
      expect(isPostCookie(secret, 'red', m.to[0]!, parts.cookie!, Date.UTC(2026, 0, 2))).toBe(true);
    }
    // The retry's delivery went to onDelivered (the first round's is the caller's to record).
    expect(delivered).toEqual([
      expect.objectContaining({ list: 'red', recipients: ['later@x.test'] }),
    ]);
    expect(delivered[0]!.messageId).toBeTruthy();
  });

  it('a list with verp: false is batched under its one sender; a probe keeps its own sender', async () => {
    fx = await queueFixture({ sender: listVerpSender([red, blue], secret) });
    await fx.distributor.distribute(listPost('b1', ['a@x.test', 'b@x.test'], 'blue'));
    expect(fx.server.accepted).toHaveLength(1);
    expect(fx.server.accepted[0]!.from).toBe('blue-bounces@list.example.test');
    expect(fx.server.accepted[0]!.to.sort()).toEqual(['a@x.test', 'b@x.test']);

    const probe = listPost('probe', ['a@x.test']);
    probe.ml_sender = 'red-bounces+a=x.test+abcdefghij@list.example.test';
    await fx.distributor.distribute(probe);
    expect(fx.server.accepted.at(-1)!.from).toBe(probe.ml_sender);
  });
});
