/** 5xx at delivery time count as bounces (probe first); deliveries go into the sent index. */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recordRefusal, withRefusalRecording } from '../../src/bounces/refusals.ts';
import { SentIndex } from '../../src/bounces/sent-index.ts';
import { BounceState } from '../../src/bounces/state.ts';
import { createListMail } from '../../src/mail/list-mail.ts';
import { verpDecode } from '../../src/mail/verp.ts';
import createMemoryMemberStore from '../../src/members/memory.ts';
import { type Notice, NoticeRefused } from '../../src/notices/compose.ts';
import type { Distributor } from '../../src/types.ts';

const DAY = 86_400_000;
const secret = Buffer.alloc(32, 3);
const list = {
  name: 'red',
  address: 'red@list.example',
  members: [],
  moderators: ['owner@list.example'],
};

function setup(refuseProbe: boolean) {
  const store = createMemoryMemberStore({
    members: [{ address: 'gone@example.com' }, { address: 'ok@example.com' }],
  });
  const sent: Notice[] = [];
  const inner: Distributor = {
    name: 'fake',
    async distribute(mail) {
      return {
        results: (mail.ml_send_to ?? []).map((recipient) =>
          recipient === 'gone@example.com'
            ? {
                recipient,
                status: 'failed' as const,
                distributor: 'fake',
                code: 550,
                response: '5.1.1 user unknown',
              }
            : { recipient, status: 'delivered' as const, distributor: 'fake' },
        ),
      };
    },
  };
  return { store, sent, inner, refuseProbe };
}

describe('withRefusalRecording', () => {
  it('scores 5xx refusals once per post, probes at the threshold, and disables when the probe is refused too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'malist-refusal-'));
    const { store, sent, inner } = setup(true);
    let now = Date.parse('2026-11-02T00:00:00Z');
    const wrapped = withRefusalRecording(inner, {
      lists: { red: { list, store, state_dir: dir, threshold: 3 } },
      secret,
      state_dir: dir,
      send: async (n) => {
        sent.push(n);
        if (n.to === 'gone@example.com' && n.from !== 'red-bounces@list.example')
          throw new NoticeRefused(n.to, 550, '5.1.1 user unknown', 'fake');
      },
      now: () => now,
    });
    for (let i = 0; i < 3; i++) {
      const mail = createListMail(
        Buffer.from(`Message-ID: <p${i}@list.example>\nSubject: post ${i}\n\nx\n`),
        { fetcher: 't', id: String(i) },
      );
      mail.ml_list_name = 'red';
      mail.ml_send_to = ['gone@example.com', 'ok@example.com'];
      await wrapped.distribute(mail);
      await wrapped.distribute(mail); // a replay counts once
      now += DAY;
    }
    const record = await new BounceState(dir, 'red').get('gone@example.com');
    expect(record?.count).toBe(4); // three posts and the probe
    expect(await store.get('gone@example.com')).toEqual({
      address: 'gone@example.com',
      nomail: true,
      nomail_reason: 'bounce',
    });
    expect(await store.get('ok@example.com')).toEqual({ address: 'ok@example.com' });
    // The probe (its own VERP cookie), then the member's and the owner's notices.
    expect(sent.map((n) => n.to)).toEqual([
      'gone@example.com',
      'gone@example.com',
      'owner@list.example',
    ]);
    expect(verpDecode('red-bounces@list.example', sent[0]!.from)).toMatchObject({
      recipient: 'gone@example.com',
      cookie: expect.stringMatching(/^[a-z2-7]{10}$/),
    });
    expect(sent[2]!.raw.toString()).toMatch(/refused at delivery/);
    // Who took the posts is in the sent index; who refused them is not.
    const index = new SentIndex(dir);
    expect(await index.has('red', ['<p1@list.example>'], 'ok@example.com', now)).toBe(true);
    expect(await index.has('red', ['<p1@list.example>'], 'gone@example.com', now)).toBe(false);
  });

  it('a probe accepted at once and refused at a later queue run disables then', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'malist-refusal-'));
    const { store, sent } = setup(false);
    const options = {
      lists: { red: { list, store, state_dir: dir, threshold: 1 } },
      secret,
      send: async (n: Notice) => {
        sent.push(n);
      },
    };
    await recordRefusal(options, {
      list: 'red',
      recipient: 'gone@example.com',
      mailKey: 'k1',
      code: 550,
    });
    expect(sent).toHaveLength(1);
    expect((await store.get('gone@example.com'))?.nomail).toBeUndefined();
    const probeKey = (await new BounceState(dir, 'red').get('gone@example.com'))!.probe!.key;
    expect(sent[0]!.key).toBe(probeKey);
    await recordRefusal(options, {
      list: 'red',
      recipient: 'gone@example.com',
      mailKey: probeKey,
      code: 550,
      text: '5.1.1 no such user',
    });
    expect((await store.get('gone@example.com'))?.nomail_reason).toBe('bounce');
    expect(sent.map((n) => n.to)).toEqual([
      'gone@example.com',
      'gone@example.com',
      'owner@list.example',
    ]);
  });
});
