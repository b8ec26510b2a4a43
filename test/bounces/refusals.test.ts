/** 5xx at delivery time count as bounces. */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withRefusalRecording } from '../../src/bounces/refusals.ts';
import { BounceState } from '../../src/bounces/state.ts';
import { createListMail } from '../../src/mail/list-mail.ts';
import createMemoryMemberStore from '../../src/members/memory.ts';
import type { Notice } from '../../src/notices/compose.ts';
import type { Distributor } from '../../src/types.ts';

describe('withRefusalRecording', () => {
  it('scores 5xx refusals per member, once per post, and notifies at the threshold', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'malist-refusal-'));
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
    let now = Date.parse('2026-11-01T00:00:00Z');
    const list = { name: 'red', address: 'red@list.example', members: [] };
    const wrapped = withRefusalRecording(inner, {
      lists: { red: { list, store, state_dir: dir, threshold: 3 } },
      send: async (n) => {
        sent.push(n);
      },
      now: () => now,
    });
    for (let i = 0; i < 3; i++) {
      const mail = createListMail(Buffer.from(`Subject: post ${i}\n\nx\n`), {
        fetcher: 't',
        id: String(i),
      });
      mail.ml_list_name = 'red';
      mail.ml_send_to = ['gone@example.com', 'ok@example.com'];
      await wrapped.distribute(mail);
      await wrapped.distribute(mail); // a replay counts once
      now += 86_400_000;
    }
    expect((await new BounceState(dir, 'red').get('gone@example.com'))?.count).toBe(3);
    expect(await store.get('gone@example.com')).toEqual({
      address: 'gone@example.com',
      nomail: true,
      nomail_reason: 'bounce',
    });
    expect(await store.get('ok@example.com')).toEqual({ address: 'ok@example.com' });
    expect(sent.map((n) => [n.to, n.from])).toEqual([
      ['gone@example.com', 'red-bounces+gone=example.com@list.example'],
    ]);
  });
});
