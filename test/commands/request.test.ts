/** The request handler: double opt-in, forgeries, robots, replays. */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import createRequestHandler, { type RequestHandlerOptions } from '../../src/commands/request.ts';
import { isSignal } from '../../src/errors.ts';
import type { ListSettings } from '../../src/list/settings.ts';
import { createListMail } from '../../src/mail/list-mail.ts';
import createMemoryMemberStore from '../../src/members/memory.ts';
import type { MemberStore } from '../../src/members/store.ts';
import { TokenStore } from '../../src/state/tokens.ts';
import type { ListMail } from '../../src/types.ts';

const list: ListSettings = {
  name: 'red',
  address: 'red@list.example',
  display_name: 'Red',
  members: [],
  moderators: ['owner@list.example'],
};

let n = 0;
function mail(from: string, subject: string, body = '', extra = ''): ListMail {
  n++;
  const raw = `From: ${from}\r\nTo: red-request@list.example\r\nSubject: ${subject}\r\nMessage-ID: <m${n}@test>\r\n${extra}\r\n${body}`;
  return createListMail(Buffer.from(raw), { fetcher: 'test', id: String(n) });
}

function tokenOf(reply: ListMail): string {
  const m = /confirm ([0-9a-f]{32}-[0-9a-f]{24})/.exec(reply.header.get('Subject') ?? '');
  if (!m) throw new Error(`no token in ${reply.header.get('Subject')}`);
  return m[1]!;
}

async function signalOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (error) {
    if (isSignal(error)) return `${error.kind}: ${error.reason}`;
    throw error;
  }
  return 'no signal';
}

let store: MemberStore;
let options: RequestHandlerOptions;

beforeEach(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'malist-req-'));
  store = createMemoryMemberStore();
  options = {
    store,
    tokens: new TokenStore(join(dir, 'tokens'), Buffer.alloc(32, 7)),
    state_dir: dir,
  };
});

describe('request handler', () => {
  it('subscribe → confirmation to the address → reply confirms → welcome', async () => {
    const handler = createRequestHandler(list, options);
    const [confirmation, ...rest] = await handler.handle(
      mail('Alice <alice@example.com>', 'subscribe'),
    );
    expect(rest).toEqual([]);
    expect(confirmation!.ml_send_to).toEqual(['alice@example.com']);
    expect(confirmation!.ml_sender).toBe('red-bounces@list.example');
    expect(confirmation!.header.get('Auto-Submitted')).toBe('auto-replied');
    expect(confirmation!.header.get('Reply-To')).toContain('red-request@list.example');
    expect(await store.list()).toEqual([]);
    const token = tokenOf(confirmation!);
    const quoted = `yes\r\n\r\n> Someone asked to subscribe\r\n> confirm ${token}\r\n`;
    const [welcome] = await handler.handle(
      mail('alice@example.com', `Re: confirm ${token}`, quoted),
    );
    expect(welcome!.header.get('Subject')).toBe('Welcome to the Red list');
    expect(welcome!.ml_send_to).toEqual(['alice@example.com']);
    expect(await store.list()).toEqual([{ address: 'alice@example.com' }]);
    // The token is used up: a second confirm changes nothing and says so.
    await store.remove('alice@example.com');
    const [again] = await handler.handle(mail('alice@example.com', `confirm ${token}`));
    expect(again!.body.toString()).toMatch(/unknown, used, expired/);
    expect(await store.list()).toEqual([]);
  });

  it('a forged or foreign confirmation does nothing', async () => {
    const handler = createRequestHandler(list, options);
    const [confirmation] = await handler.handle(mail('victim@example.com', 'unsubscribe'));
    const token = tokenOf(confirmation!);
    await store.add({ address: 'victim@example.com' });
    const forged = `${token.slice(0, 33)}${'0'.repeat(24)}`;
    const [reply] = await handler.handle(mail('mallory@example.net', `confirm ${forged}`));
    expect(reply!.ml_send_to).toEqual(['mallory@example.net']);
    expect(reply!.body.toString()).toMatch(/nothing was done/);
    const other = createRequestHandler(
      { ...list, name: 'blue', address: 'blue@list.example' },
      options,
    );
    await other.handle(mail('mallory@example.net', `confirm ${token}`));
    expect(await store.list()).toEqual([{ address: 'victim@example.com' }]);
  });

  it('subscribing someone else mails the confirmation to them, not to the requester', async () => {
    const handler = createRequestHandler(list, options);
    const replies = await handler.handle(
      mail('mallory@example.net', 'subscribe victim@example.com'),
    );
    const to = replies.map((r) => r.ml_send_to![0]).sort();
    expect(to).toEqual(['mallory@example.net', 'victim@example.com']);
    const toMallory = replies.find((r) => r.ml_send_to![0] === 'mallory@example.net')!;
    expect(toMallory.body.toString()).not.toMatch(/[0-9a-f]{32}-[0-9a-f]{24}/);
  });

  it('ignores robots: an auto-reply quoting the confirmation confirms nothing', async () => {
    const handler = createRequestHandler(list, options);
    const [confirmation] = await handler.handle(mail('victim@example.com', 'subscribe'));
    const token = tokenOf(confirmation!);
    const auto = mail(
      'victim@example.com',
      `Out of office: confirm ${token}`,
      `confirm ${token}\r\n`,
      'Auto-Submitted: auto-replied\r\n',
    );
    expect(await signalOf(handler.handle(auto))).toMatch(/^discard: request from a robot/);
    expect(await store.list()).toEqual([]);
  });

  it('a replay after a crash returns the same replies with the same keys', async () => {
    const handler = createRequestHandler(list, options);
    const [confirmation] = await handler.handle(mail('alice@example.com', 'subscribe digest'));
    const confirm = mail('alice@example.com', `confirm ${tokenOf(confirmation!)}`);
    const first = await handler.handle(confirm);
    const second = await createRequestHandler(list, options).handle(confirm);
    expect(second.map((m) => m.key)).toEqual(first.map((m) => m.key));
    expect(second.map((m) => m.raw.toString())).toEqual(first.map((m) => m.raw.toString()));
    expect(await store.list()).toEqual([{ address: 'alice@example.com', digest: true }]);
  });

  it('unsubscribe and set are confirmed by the member', async () => {
    await store.add({ address: 'bob@example.org' });
    const handler = createRequestHandler(list, options);
    const [setConfirm] = await handler.handle(mail('bob@example.org', 'set', 'set nomail on\r\n'));
    await handler.handle(mail('bob@example.org', `Re: ${setConfirm!.header.get('Subject')}`));
    expect(await store.get('bob@example.org')).toEqual({
      address: 'bob@example.org',
      nomail: true,
      nomail_reason: 'user',
    });
    const [leave] = await handler.handle(mail('bob@example.org', ''), { verb: 'unsubscribe' });
    const [bye] = await handler.handle(mail('bob@example.org', `confirm ${tokenOf(leave!)}`));
    expect(bye!.header.get('Subject')).toBe('You have left the Red list');
    expect(await store.list()).toEqual([]);
  });

  it('help, and a letter without commands gets the help text', async () => {
    const handler = createRequestHandler(list, options);
    const [help] = await handler.handle(mail('x@example.com', 'help'));
    expect(help!.header.get('Subject')).toBe('Help for the Red list');
    const [reply] = await handler.handle(mail('x@example.com', 'hello', 'Please add me.\r\n'));
    expect(reply!.body.toString()).toMatch(/No command was found/);
    // Counted, never quoted back: the sender is unverified.
    expect(reply!.body.toString()).toMatch(/1 line\(s\) of your message were not understood/);
    expect(reply!.body.toString()).not.toMatch(/Please add me/);
  });

  it('limits the mail one address gets per day (no flooding a victim with confirmations)', async () => {
    const handler = createRequestHandler(list, { ...options, per_day: 3 });
    let toVictim = 0;
    for (let i = 0; i < 5; i++) {
      const out = await handler.handle(
        mail(`mallory${i}@example.net`, 'subscribe victim@example.com'),
      );
      toVictim += out.filter((m) => m.ml_send_to![0] === 'victim@example.com').length;
    }
    expect(toVictim).toBe(3);
  });

  it('approve policy: subscribing someone else still needs the owner after the address confirmed', async () => {
    const handler = createRequestHandler(list, { ...options, subscribe_policy: 'approve' });
    const replies = await handler.handle(mail('bob@example.org', 'subscribe carol@example.net'));
    const toCarol = replies.find((r) => r.ml_send_to![0] === 'carol@example.net')!;
    const next = await handler.handle(mail('carol@example.net', `confirm ${tokenOf(toCarol)}`));
    expect(await store.list()).toEqual([]);
    expect(next.map((r) => r.ml_send_to![0])).toContain('owner@list.example');
  });

  it('confirm-approve: the owner approves after the address confirmed', async () => {
    const handler = createRequestHandler(list, { ...options, subscribe_policy: 'confirm-approve' });
    const [confirmation] = await handler.handle(mail('carol@example.net', 'subscribe'));
    const replies = await handler.handle(
      mail('carol@example.net', `confirm ${tokenOf(confirmation!)}`),
    );
    const toOwner = replies.find((r) => r.ml_send_to![0] === 'owner@list.example')!;
    expect(await store.list()).toEqual([]);
    const [welcome] = await handler.handle(
      mail('owner@list.example', `confirm ${tokenOf(toOwner)}`),
    );
    expect(welcome!.ml_send_to).toEqual(['carol@example.net']);
    expect(await store.list()).toEqual([{ address: 'carol@example.net' }]);
  });
});
