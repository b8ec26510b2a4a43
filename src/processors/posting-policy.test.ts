import { describe, expect, it } from 'vitest';
import { fixtureMail, mailOf, redList } from '../../test/posting/corpus.ts';
import { Discard, Hold, Reject } from '../errors.ts';
import createMemoryMemberStore from '../members/memory.ts';
import type { ListMail } from '../types.ts';
import createApproved from './approved.ts';
import createExplicitDestination from './explicit-destination.ts';
import createMaxRecipients from './max-recipients.ts';
import createMaxSize from './max-size.ts';
import createPostingPolicy, { checkPoster } from './posting-policy.ts';

function outcome(run: () => unknown): string {
  try {
    run();
    return 'pass';
  } catch (error) {
    return (error as { kind?: string }).kind ?? 'error';
  }
}

describe('posting-policy', () => {
  const from = (addr: string) => mailOf(`From: Someone <${addr}>\nTo: red@list.example.com\n\nx\n`);

  it('matches posters by normalised address: case, IDN, never a substring', () => {
    const list = redList({ members: ['Alice@EXAMPLE.com', 'jdöe@mächine.example'] });
    expect(outcome(() => checkPoster(list, from('alice@example.com')))).toBe('pass');
    expect(outcome(() => checkPoster(list, from('ALICE@example.COM')))).toBe('pass');
    expect(outcome(() => checkPoster(list, from('lice@example.com')))).toBe('hold');
    expect(outcome(() => checkPoster(list, from('alice@example.com.evil.test')))).toBe('hold');
    // 004: raw UTF-8 From with an IDN domain; the member is written in Unicode too.
    expect(outcome(() => checkPoster(list, fixtureMail('004')))).toBe('pass');
    expect(
      outcome(() =>
        checkPoster(redList({ members: ['jdöe@xn--mchine-bua.example'] }), fixtureMail('004')),
      ),
    ).toBe('pass');
  });

  it('applies non_member_action and the four policies', () => {
    const stranger = fixtureMail('001');
    for (const [action, kind] of [
      ['hold', 'hold'],
      ['reject', 'reject'],
      ['discard', 'discard'],
      ['accept', 'pass'],
    ] as const)
      expect(outcome(() => checkPoster(redList({ non_member_action: action }), stranger))).toBe(
        kind,
      );
    expect(outcome(() => checkPoster(redList({ posting: 'open' }), stranger))).toBe('pass');
    expect(
      outcome(() => checkPoster(redList({ posting: 'moderated' }), from('alice@example.com'))),
    ).toBe('hold');
    const announce = redList({ posting: 'announce', posters: ['boss@example.com'] });
    expect(outcome(() => checkPoster(announce, from('alice@example.com')))).toBe('reject');
    expect(outcome(() => checkPoster(announce, from('Boss@Example.com')))).toBe('pass');
    // 013: two From mailboxes; the second is a member.
    expect(
      outcome(() => checkPoster(redList({ members: ['jack@lindsar.com'] }), fixtureMail('013'))),
    ).toBe('pass');
  });

  it('reads membership from the member store at each post: joined by mail may post, moderate is held', async () => {
    const store = createMemoryMemberStore({ members: [{ address: 'alice@example.com' }] });
    const list = redList({ members: ['bob@example.com'], member_store: store });
    const unit = createPostingPolicy(list);
    const check = async (addr: string, policy = unit) => {
      try {
        await policy.process(from(addr));
        return 'pass';
      } catch (error) {
        return (error as { kind?: string }).kind ?? 'error';
      }
    };
    expect(await check('alice@example.com')).toBe('pass');
    // The store is the truth: bob is only in the members loaded with the configuration.
    expect(await check('bob@example.com')).toBe('hold');
    await store.add({ address: 'dave@example.com' });
    expect(await check('Dave@Example.com')).toBe('pass');
    await store.update('alice@example.com', { moderate: true });
    expect(await check('alice@example.com')).toBe('hold');
    // Even on an open list; an approved post passes.
    expect(
      await check('alice@example.com', createPostingPolicy({ ...list, posting: 'open' })),
    ).toBe('hold');
    const approved = from('alice@example.com');
    approved.ml_approved = 'moderator';
    await expect(unit.process(approved)).resolves.toBe(approved);
  });

  it('honours and strips a pre-approval header with the moderator password only', async () => {
    const list = redList({ posting: 'moderated', moderator_password: 's3cret' });
    const good = mailOf('From: x@y.example\nApproved: s3cret\nSubject: s\n\nbody\n');
    await createApproved(list).process(good);
    expect(good.ml_approved).toBeTruthy();
    expect(good.header.has('Approved')).toBe(false);
    expect(outcome(() => checkPoster(list, good))).toBe('pass');
    const bad = mailOf('From: x@y.example\nApprove: guess\n\nbody\n');
    await createApproved(list).process(bad);
    expect(bad.ml_approved).toBeUndefined();
    expect(bad.header.has('Approve')).toBe(false);
    expect(outcome(() => checkPoster(list, bad))).toBe('hold');
  });
});

describe('max-size, max-recipients, explicit-destination', () => {
  const run = async (p: { process(m: ListMail): Promise<unknown> }, m: ListMail) => {
    try {
      await p.process(m);
      return 'pass';
    } catch (error) {
      if (error instanceof Hold || error instanceof Reject || error instanceof Discard)
        return error.kind;
      throw error;
    }
  };

  it('holds a post over max_message_size, unless approved', async () => {
    const list = redList({ max_message_size: 1_000_000 });
    expect(await run(createMaxSize(list), fixtureMail('061'))).toBe('hold');
    expect(await run(createMaxSize(list, { action: 'reject' }), fixtureMail('061'))).toBe('reject');
    expect(await run(createMaxSize(list), fixtureMail('001'))).toBe('pass');
    const approved = fixtureMail('061');
    approved.ml_approved = 'moderator';
    expect(await run(createMaxSize(list), approved)).toBe('pass');
  });

  it('counts distinct To/Cc addresses (groups and odd syntax included)', async () => {
    expect(await run(createMaxRecipients(redList({ max_recipients: 2 })), fixtureMail('013'))).toBe(
      'hold',
    );
    expect(await run(createMaxRecipients(redList({ max_recipients: 3 })), fixtureMail('013'))).toBe(
      'pass',
    );
    expect(await run(createMaxRecipients(redList({ max_recipients: 1 })), fixtureMail('015'))).toBe(
      'hold',
    );
  });

  it('requires the list (or an alias) in To/Cc when configured', async () => {
    const list = redList({
      require_explicit_destination: true,
      acceptable_aliases: ['RED-alias@list.example.com'],
    });
    const bcc = mailOf('From: a@example.com\nTo: someone@else.example\n\nx\n');
    expect(await run(createExplicitDestination(list), bcc)).toBe('hold');
    const cc = mailOf(
      'From: a@example.com\nTo: x@y.example\nCc: "Red" <Red@LIST.example.com>\n\nx\n',
    );
    expect(await run(createExplicitDestination(list), cc)).toBe('pass');
    const alias = mailOf('From: a@example.com\nTo: red-alias@list.example.com\n\nx\n');
    expect(await run(createExplicitDestination(list), alias)).toBe('pass');
    const lookalike = mailOf('From: a@example.com\nTo: xred@list.example.com\n\nx\n');
    expect(await run(createExplicitDestination(list), lookalike)).toBe('hold');
  });
});
