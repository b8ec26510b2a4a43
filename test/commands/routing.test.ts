/** many-lists routes a list's request and bounce addresses to their handlers. */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import createBounceHandler from '../../src/bounces/handler.ts';
import { BounceState } from '../../src/bounces/state.ts';
import createRequestHandler from '../../src/commands/request.ts';
import { isSignal } from '../../src/errors.ts';
import { memberBounceAddress } from '../../src/list/verp.ts';
import { createListMail } from '../../src/mail/list-mail.ts';
import createMemoryMemberStore from '../../src/members/memory.ts';
import createManyLists from '../../src/processors/many-lists.ts';
import createSingleList from '../../src/processors/single-list.ts';
import { TokenStore } from '../../src/state/tokens.ts';
import type { ListMail } from '../../src/types.ts';

async function setup() {
  const dir = await mkdtemp(join(tmpdir(), 'malist-route-'));
  const store = createMemoryMemberStore({ members: [{ address: 'alice@example.com' }] });
  const red = createSingleList({
    name: 'red',
    address: 'red@list.example',
    members: ['alice@example.com'],
    pipeline: ['envelope'],
  });
  const blue = createSingleList({
    name: 'blue',
    address: 'blue@list.example',
    members: [],
    pipeline: ['envelope'],
  });
  const tokens = new TokenStore(join(dir, 'tokens'), Buffer.alloc(32, 1));
  const router = createManyLists({
    lists: [red, blue],
    no_match: 'discard',
    handlers: {
      red: {
        request: createRequestHandler(red.list, { store, tokens, state_dir: dir }),
        bounces: createBounceHandler(red.list, { store, state_dir: dir, secret, threshold: 1 }),
      },
    },
  });
  return { dir, router, store };
}

function mail(headers: string, body = 'hello\n'): ListMail {
  return createListMail(
    Buffer.from(`From: bob@example.org\nMessage-ID: <${Math.random()}@t>\n${headers}\n\n${body}`),
    { fetcher: 't', id: '1' },
  );
}

const secret = Buffer.alloc(32, 1);
const asArray = (x: ListMail | ListMail[]) => (Array.isArray(x) ? x : [x]);

describe('many-lists routing of request and bounce addresses', () => {
  it('LIST-join@ and LIST+subscribe@ are subscribe requests', async () => {
    const { router } = await setup();
    for (const to of [
      'red-join@list.example',
      'red+subscribe@list.example',
      'red-request@list.example',
    ]) {
      const out = asArray(
        await router.process(
          mail(`To: ${to}\nSubject: ${to.startsWith('red-request') ? 'subscribe' : ''}`),
        ),
      );
      expect(out).toHaveLength(1);
      expect(out[0]!.ml_send_to).toEqual(['bob@example.org']);
      expect(out[0]!.header.get('Subject')).toMatch(/^confirm [0-9a-f]{32}-/);
      expect(out[0]!.ml_list_name).toBe('red');
    }
  });

  it('the envelope recipient routes too (Delivered-To / MTA --recipient)', async () => {
    const { router } = await setup();
    const m = mail('To: undisclosed-recipients:;\nSubject: help');
    m.origin.recipient = 'red-request@list.example';
    const out = asArray(await router.process(m));
    expect(out[0]!.header.get('Subject')).toBe('Help for the red list');
  });

  it('VERP bounces go to the bounce handler with the member decoded (probe first)', async () => {
    const { router, store, dir } = await setup();
    const red = { name: 'red', address: 'red@list.example', members: [] };
    const to = memberBounceAddress(red, secret, 'alice@example.com', Date.now());
    const dsn = mail(
      `To: ${to}\nContent-Type: multipart/report; report-type=delivery-status; boundary="b"`,
      '--b\nContent-Type: text/plain\n\nfailed\n--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\nFinal-Recipient: rfc822; alice@example.com\nAction: failed\nStatus: 5.1.1\n--b--\n',
    );
    const out = asArray(await router.process(dsn));
    // At the threshold (1) alice is probed; she stays on until the probe bounces.
    expect(out.map((m) => m.ml_send_to![0])).toEqual(['alice@example.com']);
    expect(out[0]!.ml_sender).toMatch(
      /^red-bounces\+alice=example\.com\+[a-z2-7]{10}@list\.example$/,
    );
    expect((await store.get('alice@example.com'))?.nomail).toBeUndefined();
    expect((await new BounceState(dir, 'red').get('alice@example.com'))?.count).toBe(1);
  });

  it('a post to red@ with Cc blue-request@ (no handler there) goes to red only', async () => {
    const { router } = await setup();
    const out = asArray(
      await router.process(mail('To: red@list.example\nCc: blue-request@list.example')),
    );
    expect(out).toHaveLength(1);
    expect(out[0]!.ml_send_to).toEqual(['alice@example.com']);
  });

  it('a cross-post to a list and a request address gives both', async () => {
    const { router } = await setup();
    const out = asArray(
      await router.process(mail('To: blue@list.example\nCc: red-leave@list.example')),
    );
    // In configuration order: red (its leave address), then blue (the post).
    expect(out.map((m) => m.ml_list_name)).toEqual(['red', 'blue']);
    expect(out[0]!.header.get('Subject')).toMatch(/^confirm /);
  });

  it('mail to a list address without a handler is no match', async () => {
    const { router } = await setup();
    await expect(router.process(mail('To: blue-request@list.example'))).rejects.toSatisfy(isSignal);
  });
});
