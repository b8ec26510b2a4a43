import { describe, expect, it } from 'vitest';
import type { QueuedPost } from '../queue/trace.ts';
import type { StoredMeta } from '../state/mail-store.ts';
import { answerText, assembleTrace, type PostFacts, type TraceFacts } from './trace.ts';

const T0 = Date.parse('2026-12-01T10:00:00Z');
const at = (ms: number) => new Date(ms).toISOString();

const journaled = (
  outcome: 'distributed' | 'held' | 'rejected' | 'discarded',
  more = {},
): PostFacts['journal'][number] => ({
  key: 'a'.repeat(64),
  entry: {
    outcome,
    at: at(T0),
    messageId: 'p1@example.org',
    lists: ['red'],
    origin: 'imap:INBOX:7:42',
    from: 'Bob <bob@example.net>',
    subject: 'Hello',
    ...more,
  },
});

const queued = (recipients: QueuedPost['recipients']): QueuedPost => ({
  id: 'e1',
  list: 'red',
  message_id: 'p1@example.org',
  created: T0,
  where: 'waiting',
  recipients,
});

function trace(member: string, post: Partial<PostFacts>, more: Partial<TraceFacts> = {}) {
  return assembleTrace({
    list: 'red',
    member,
    memberNow: { address: member },
    queued: true,
    posts: [{ messageId: 'p1@example.org', journal: [], held: [], queue: [], ...post }],
    ...more,
  });
}

describe('assembleTrace', () => {
  it('a deferred recipient: queued, its last answer, tries and the next attempt', () => {
    const t = trace('alice@example.org', {
      journal: [journaled('distributed')],
      queue: [
        queued([
          {
            address: 'Alice@Example.org',
            state: 'pending',
            tries: 3,
            next_attempt: T0 + 3_600_000,
            deferred: { code: 451, response: '451 4.3.0 mailbox busy', at: T0 + 60_000 },
          },
        ]),
      ],
    });
    const m = t.posts[0]!.member;
    expect(m.verdict).toBe('queued');
    expect(m.why).toBe(
      'not delivered yet: deferred (3 tries), last answer 451 4.3.0 mailbox busy; next try at 2026-12-01 11:00:00Z',
    );
    expect(m.next_attempt).toBe('2026-12-01T11:00:00Z');
    expect(t.posts[0]).toMatchObject({ origin: 'imap:INBOX:7:42', subject: 'Hello' });
  });

  it('not a recipient: digest (which digest), notmetoo on her own post, not a member', () => {
    const digest = trace(
      'alice@example.org',
      {
        journal: [journaled('distributed')],
        queue: [queued([])],
        digest: { state: 'pending', next: 'red Digest, Vol 1, Issue 4' },
      },
      { memberNow: { address: 'alice@example.org', digest: true } },
    );
    expect(digest.posts[0]!.member.why).toBe(
      'a digest member: it waits for the next digest (red Digest, Vol 1, Issue 4)',
    );
    expect(digest.membership.options).toEqual(['digest']);
    const own = trace(
      'bob@example.net',
      { journal: [journaled('distributed')], queue: [queued([])] },
      { memberNow: { address: 'bob@example.net', notmetoo: true } },
    );
    expect(own.posts[0]!.member.why).toBe('notmetoo is on and the post is her own');
    const gone = trace(
      'eve@example.org',
      { journal: [journaled('distributed')], queue: [queued([])] },
      { memberNow: undefined },
    );
    expect(gone.posts[0]!.member).toEqual({
      verdict: 'not-a-recipient',
      why: 'eve@example.org is not a member of red (now)',
    });
    expect(gone.membership.member).toBe(false);
  });

  it('a rejected post: not sent, the reason and the unit', () => {
    const t = trace('alice@example.org', {
      journal: [journaled('rejected', { reason: 'too large', unit: 'max-size' })],
    });
    expect(t.posts[0]!.member).toEqual({
      verdict: 'not-sent',
      why: 'the post was rejected: too large (unit max-size)',
    });
    expect(t.posts[0]!.events).toEqual([
      { at: at(T0), what: 'rejected', detail: 'too large (unit max-size)' },
    ]);
  });

  it('held, approved, then delivered: the events in order and the delivery', () => {
    const meta: StoredMeta = {
      id: 'h1',
      reason: 'non-member post',
      unit: 'posting-policy',
      list: 'red',
      messageId: 'p1@example.org',
      origin: { fetcher: 'stdin', id: 'stdin' },
      at: at(T0),
    };
    const t = trace('alice@example.org', {
      journal: [
        journaled('held'),
        { key: 'b'.repeat(64), entry: { ...journaled('distributed').entry, at: at(T0 + 1500) } },
      ],
      held: [
        {
          meta,
          decision: { heldId: 'h1', action: 'approve', by: 'carol@example.org', at: at(T0 + 1000) },
        },
      ],
      queue: [
        queued([
          {
            address: 'alice@example.org',
            state: 'delivered',
            tries: 1,
            final: { code: 250, response: '250 2.0.0 Ok', at: T0 + 2000 },
          },
        ]),
      ],
    });
    expect(t.posts[0]!.events.map((e) => e.what)).toEqual(['held', 'approved', 'distributed']);
    expect(t.posts[0]!.member.verdict).toBe('delivered');
    expect(t.posts[0]!.member.why).toBe(
      'the server took it at 2026-12-01 10:00:02Z: 250 2.0.0 Ok (1 try)',
    );
  });

  it('no per-recipient record: says why there is none', () => {
    const queuedList = trace('alice@example.org', { journal: [journaled('distributed')] });
    expect(queuedList.posts[0]!.member.verdict).toBe('unknown');
    expect(queuedList.posts[0]!.member.why).toContain('keep_done_seconds');
    const maildir = trace(
      'alice@example.org',
      { journal: [journaled('distributed')] },
      { queued: false },
    );
    expect(maildir.posts[0]!.member.why).toContain('keeps no per-recipient record');
  });

  it('answerText says the code once', () => {
    expect(answerText({ code: 550, response: '550 5.1.1 unknown' })).toBe('550 5.1.1 unknown');
    expect(answerText({ code: 421, response: 'closing' })).toBe('421 closing');
    expect(answerText({ response: 'ECONNREFUSED' })).toBe('ECONNREFUSED');
  });
});
