/**
 * End-to-end: a moderated list holds a post; the moderator's approval, sent through the
 * fetcher like any mail (to LIST-request@, routed by many-lists to the request handler),
 * releases it to every member exactly once; a replayed or expired token only notifies.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import createRequestHandler from '../../src/commands/request.ts';
import type { ListSettings } from '../../src/list/settings.ts';
import { createListMail, mailBytes } from '../../src/mail/list-mail.ts';
import createMemoryMemberStore from '../../src/members/memory.ts';
import { expireHeld } from '../../src/moderation/expire.ts';
import { heldStore, type ModerationContext } from '../../src/moderation/held.ts';
import { createModerationHandler } from '../../src/moderation/tokens.ts';
import type { Notice } from '../../src/notices/compose.ts';
import { noticeOutlet } from '../../src/notices/list-notices.ts';
import { play } from '../../src/play.ts';
import createManyLists from '../../src/processors/many-lists.ts';
import createSingleList, { type SingleList } from '../../src/processors/single-list.ts';
import createNotifyModerators from '../../src/reactors/notify-moderators.ts';
import createNotifyPoster from '../../src/reactors/notify-poster.ts';
import { TokenStore } from '../../src/state/tokens.ts';
import { MemorySource, RecordingDistributor } from '../helpers/memory-units.ts';
import { fixture } from './corpus.ts';

const MEMBERS = ['alice@example.com', 'bob@example.org', 'carol@example.net'];
const DAY = 86_400_000;

function post(from: string, subject: string, id: string): string {
  return `From: Poster <${from}>\r\nTo: red@list.example.com\r\nSubject: ${subject}\r\nDate: Mon, 4 Jan 2027 10:00:00 +0100\r\nMessage-ID: <${id}@example.com>\r\n\r\nHello members.\r\n`;
}

function approval(token: string, id: string, verb = 'Re: confirm'): string {
  return `From: Mod <mod@example.com>\r\nTo: red-request@list.example.com\r\nSubject: ${verb} ${token}\r\nMessage-ID: <${id}@example.com>\r\n\r\n> A post to red@list.example.com is held for your approval.\r\n`;
}

describe('moderation end to end', () => {
  let dir: string;
  let clock: number;
  let notices: Notice[];
  let list: ListSettings;
  let single: SingleList;
  let tokens: TokenStore;
  let ctx: ModerationContext;
  let setup: (...raws: string[]) => Parameters<typeof play>[0] & { out: RecordingDistributor };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'malist-moderation-'));
    clock = Date.now(); // the held store stamps entries with the real time
    notices = [];
    list = {
      name: 'red',
      address: 'red@list.example.com',
      display_name: 'Red mail list',
      members: MEMBERS,
      posting: 'moderated',
      moderators: ['mod@example.com'],
      subject_prefix: '[Red] ',
      held_expiry_days: 3,
      state_dir: dir,
    };
    single = createSingleList(list);
    tokens = new TokenStore(
      join(dir, 'tokens', 'red'),
      Buffer.from('a moderation secret of 32 bytes!'),
    );
    const send = async (n: Notice) => void notices.push(n);
    ctx = {
      stateDir: dir,
      pipeline: (name) => (name === 'red' ? single : undefined),
      notices: noticeOutlet({ lists: { red: list }, state_dir: dir, send }),
      now: () => clock,
    };
    const request = createRequestHandler(list, {
      store: createMemoryMemberStore({ members: MEMBERS.map((address) => ({ address })) }),
      tokens,
      state_dir: dir,
      confirmHandlers: { moderate: createModerationHandler(ctx) },
      now: () => clock,
    });
    const processor = createManyLists({ lists: [single], handlers: { red: { request } } });
    const reactorOptions = { lists: { red: list }, state_dir: dir, send, now: () => clock };
    const reactor = [
      createNotifyModerators({ ...reactorOptions, tokens: () => tokens }),
      createNotifyPoster(reactorOptions),
    ];
    setup = (...raws) => {
      const source = new MemorySource();
      for (const raw of raws) source.add(raw);
      const out = new RecordingDistributor();
      return {
        out,
        fetcher: source.fetcher(),
        processor,
        distributor: out,
        reactor,
        stateDir: dir,
      };
    };
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  async function moderatorToken(): Promise<string> {
    const notice = notices.filter((n) => n.to === 'mod@example.com').at(-1)!;
    const parsed = await simpleParser(notice.raw);
    expect(parsed.headers.get('auto-submitted')).toBe('auto-generated');
    expect(parsed.replyTo?.value[0]?.address).toBe('red-request@list.example.com');
    expect(parsed.attachments[0]?.contentType).toBe('message/rfc822');
    return /^confirm (\S+)$/.exec(parsed.subject ?? '')![1]!;
  }

  const postsTo = (out: RecordingDistributor) => out.sent.filter((s) => s.mail.ml_approved);

  it('holds a post, releases it to all members exactly once on the moderator’s reply', async () => {
    let run = setup(post('alice@example.com', 'Meeting', 'p1'));
    expect((await play(run)).held).toBe(1);
    expect(run.out.sent).toHaveLength(0);
    expect(await heldStore(ctx, 'red').list()).toHaveLength(1);
    const token = await moderatorToken();
    const posterNotice = notices.find((n) => n.to === 'alice@example.com')!;
    expect((await simpleParser(posterNotice.raw)).subject).toMatch(/awaits moderator approval/);

    run = setup(approval(token, 'a1'));
    const summary = await play(run);
    expect(summary.distributed).toBe(1);
    const delivered = postsTo(run.out);
    expect(delivered.map((d) => d.recipient).sort()).toEqual([...MEMBERS].sort());
    const parsed = await simpleParser(mailBytes(delivered[0]!.mail));
    expect(parsed.subject).toBe('[Red] Meeting');
    expect(parsed.text).toContain('Hello members.');
    expect(delivered[0]!.mail.header.get('List-Id')).toBe('Red mail list <red.list.example.com>');
    expect(delivered[0]!.mail.ml_sender).toBe('red-bounces@list.example.com');
    expect(run.out.sent.filter((s) => s.recipient === 'mod@example.com')).toHaveLength(1);
    expect(await heldStore(ctx, 'red').list()).toHaveLength(0);

    // The same approval mail fetched again (not acked, say) is skipped by the journal;
    // a second reply with the same token only gets "bad token" back.
    run = setup(approval(token, 'a1'), approval(token, 'a2', 'approve'));
    await play(run);
    expect(postsTo(run.out)).toHaveLength(0);
    const replies = run.out.sent.filter((s) => s.recipient === 'mod@example.com');
    expect(replies).toHaveLength(1);
    expect((await simpleParser(mailBytes(replies[0]!.mail))).text).toMatch(/token|confirm/i);
  });

  it('gives the same release back when the approval is replayed after a crash (same key: sent once)', async () => {
    const run = setup(post('alice@example.com', 'Replay', 'p2'));
    await play(run);
    const token = await moderatorToken();
    const handler = createModerationHandler(ctx);
    const request = createRequestHandler(list, {
      store: createMemoryMemberStore(),
      tokens,
      state_dir: dir,
      confirmHandlers: { moderate: handler },
      now: () => clock,
    });
    const mail = createListMail(Buffer.from(approval(token, 'a3')), { fetcher: 't', id: '1' });
    const first = (await request.handle(mail)).filter((m) => m.ml_approved);
    const again = (
      await request.handle(createListMail(mail.raw, { fetcher: 't', id: '2' }))
    ).filter((m) => m.ml_approved);
    expect(first).toHaveLength(1);
    expect(again.map((m) => m.key)).toEqual(first.map((m) => m.key));
    expect(mailBytes(again[0]!)).toEqual(mailBytes(first[0]!));
  });

  it('does nothing but notify for an expired token; the post expires and its poster is told', async () => {
    let run = setup(post('bob@example.org', 'Late', 'p3'));
    await play(run);
    const token = await moderatorToken();
    clock += 4 * DAY;
    run = setup(approval(token, 'a4'));
    await play(run);
    expect(postsTo(run.out)).toHaveLength(0);
    expect(run.out.sent.map((s) => s.recipient)).toEqual(['mod@example.com']);
    expect(await heldStore(ctx, 'red').list()).toHaveLength(1);
    const report = await expireHeld(ctx, list, clock);
    expect(report.expired).toHaveLength(1);
    expect(await heldStore(ctx, 'red').list()).toHaveLength(0);
    const expired = notices.filter((n) => n.to === 'bob@example.org').at(-1)!;
    expect((await simpleParser(expired.raw)).subject).toMatch(/expired/);
  });

  it('honours a reject by mail: the poster is told, nothing is distributed', async () => {
    let run = setup(
      fixture('013')
        .toString('latin1')
        .replace(/^To: .*$/m, 'To: red@list.example.com'),
    );
    await play(run);
    const token = await moderatorToken();
    run = setup(approval(token, 'a5', 'reject'));
    await play(run);
    expect(postsTo(run.out)).toHaveLength(0);
    const rejected = notices.filter((n) => n.to === 'test@lindsaar.net').at(-1)!;
    expect((await simpleParser(rejected.raw)).subject).toMatch(/was rejected/);
  });
});
