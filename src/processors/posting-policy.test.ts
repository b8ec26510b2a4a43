import { describe, expect, it } from 'vitest';
import { bareVerdict } from '../../test/helpers/auth-keys.ts';
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

describe('posting-policy: require_authenticated_from', () => {
  const member = 'bob@author.example';
  const post = (verdict?: ReturnType<typeof bareVerdict>, extra = '') => {
    const mail = mailOf(`From: Bob <${member}>\n${extra}To: red@list.example.com\n\nx\n`);
    if (verdict) mail.ml_auth = verdict;
    return mail;
  };
  const signed = (domain: string, result = 'pass') =>
    bareVerdict({ dkim: [{ result, domain, selector: 's', algorithm: 'rsa-sha256' }] });
  const reason = (run: () => unknown) => {
    try {
      run();
      return 'pass';
    } catch (error) {
      return `${(error as Hold).kind}: ${(error as Hold).reason}`;
    }
  };

  it("a member's post counts only with an aligned pass; otherwise the non-member action", () => {
    const list = redList({ members: [member], require_authenticated_from: true });
    expect(reason(() => checkPoster(list, post(signed('author.example'))))).toBe('pass');
    // A subdomain's signature aligns (relaxed, as DMARC).
    expect(reason(() => checkPoster(list, post(signed('mail.author.example'))))).toBe('pass');
    expect(reason(() => checkPoster(list, post(signed('author.example', 'fail'))))).toMatch(
      /^hold: bob@author\.example: From not authenticated: no passing DKIM signature aligned with author\.example \(author\.example=fail\)/,
    );
    expect(reason(() => checkPoster(list, post(signed('evil.example'))))).toMatch(
      /^hold: .*From not authenticated/,
    );
    expect(reason(() => checkPoster(list, post()))).toMatch(
      /^hold: .*From not authenticated: the post was not verified/,
    );
    const rejecting = redList({ ...list, non_member_action: 'reject' });
    expect(reason(() => checkPoster(rejecting, post(bareVerdict())))).toMatch(/^reject: /);
    // Without the setting, the From alone decides, as before.
    expect(reason(() => checkPoster(redList({ members: [member] }), post()))).toBe('pass');
    // A moderator's approval stands.
    const approved = post(bareVerdict());
    approved.ml_approved = 'moderator';
    expect(reason(() => checkPoster(list, approved))).toBe('pass');
  });

  it('applies to the listed domains only, and then only the From is a poster', () => {
    const list = redList({
      members: [member, 'sec@other.example'],
      require_authenticated_from: ['author.example'],
    });
    expect(reason(() => checkPoster(list, post(bareVerdict())))).toMatch(
      /^hold: .*From not authenticated/,
    );
    const other = mailOf('From: x@other.example\nTo: red@list.example.com\n\nx\n');
    other.ml_auth = bareVerdict({
      from: { addresses: ['x@other.example'], domains: ['other.example'], fields: 1 },
    });
    // other.example is not listed: the From decides alone (and x@ is no member).
    expect(reason(() => checkPoster(list, other))).toMatch(/^hold: .* is not a member/);
    // A member in Sender does not make a forged From a member's post.
    const viaSender = post(signed('author.example'), 'Sender: sec@other.example\n');
    viaSender.header.set('From', 'x@author.example');
    viaSender.ml_auth = {
      ...signed('author.example'),
      from: { addresses: ['x@author.example'], domains: ['author.example'], fields: 1 },
    };
    expect(reason(() => checkPoster(list, viaSender))).toMatch(/^hold: .* is not a member/);
  });

  it('a post relayed by a trusted sealer whose chain passes is accepted', () => {
    const sealed = bareVerdict({
      arc: {
        result: 'pass',
        instance: 1,
        sealer: 'forwarder.example',
        latest: {
          authservId: 'mx.forwarder.example',
          dkim: [{ result: 'pass', props: { 'header.d': 'author.example' } }],
        },
      },
    });
    const trusting = redList({
      members: [member],
      require_authenticated_from: true,
      arc_trusted_sealers: ['forwarder.example'],
    });
    expect(reason(() => checkPoster(trusting, post(sealed)))).toBe('pass');
    const untrusting = redList({ members: [member], require_authenticated_from: true });
    expect(reason(() => checkPoster(untrusting, post(sealed)))).toMatch(/not a trusted sealer/);
  });
});
