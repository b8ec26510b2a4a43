/**
 * Bounce handling: only proven bounces count (a VERP cookie this list made, or a report
 * naming a Message-ID the list sent that member); at the threshold a probe goes out, and
 * only its bounce sets the member to nomail, with notices carrying the evidence.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import createBounceHandler, { type BounceHandlerOptions } from '../../src/bounces/handler.ts';
import { SentIndex } from '../../src/bounces/sent-index.ts';
import { BounceState } from '../../src/bounces/state.ts';
import { isSignal } from '../../src/errors.ts';
import type { ListSettings } from '../../src/list/settings.ts';
import { memberBounceAddress } from '../../src/list/verp.ts';
import { createListMail } from '../../src/mail/list-mail.ts';
import { type VerpParts, verpAddress, verpDecode } from '../../src/mail/verp.ts';
import createMemoryMemberStore from '../../src/members/memory.ts';
import type { MemberStore } from '../../src/members/store.ts';
import type { ListMail } from '../../src/types.ts';
import { CORPUS_DIR as CORPUS } from '../helpers/corpus.ts';
import { hardBounce } from '../helpers/dsn.ts';

const DAY = 86_400_000;
const list: ListSettings = {
  name: 'red',
  address: 'red@list.example',
  members: [],
  moderators: ['owner@list.example'],
};
const secret = Buffer.alloc(32, 9);
const LONG = `${'long.member.address.'.repeat(3)}x@example.com`;

let store: MemberStore;
let dir: string;
let now: number;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'malist-bounce-'));
  now = Date.parse('2026-11-02T12:00:00Z');
  store = createMemoryMemberStore({
    members: [{ address: 'alice@example.com' }, { address: 'xxxx@xxxx.com' }, { address: LONG }],
  });
});

function handlerWith(options: Partial<BounceHandlerOptions> = {}) {
  return createBounceHandler(list, { store, state_dir: dir, secret, now: () => now, ...options });
}

/** What the VERP address of `member`'s copy sent at `at` says. */
function verpOf(member: string, at = now): VerpParts {
  return verpDecode('red-bounces@list.example', memberBounceAddress(list, secret, member, at))!;
}

async function corpusMail(file: string, salt: string) {
  const raw = Buffer.concat([Buffer.from(`X-Test: ${salt}\n`), await readFile(join(CORPUS, file))]);
  return createListMail(raw, { fetcher: 'test', id: salt });
}

function dsn(recipient: string, n: string, returned?: string): ListMail {
  return createListMail(
    Buffer.from(
      hardBounce({
        to: 'red-bounces@list.example',
        recipient,
        n,
        ...(returned ? { returned } : {}),
      }),
    ),
    { fetcher: 'test', id: n },
  );
}

/** The body with quoted-printable soft breaks and escapes undone. */
function bodyText(mail: ListMail): string {
  return mail.body
    .toString()
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
}

async function outcome(p: Promise<ListMail[]>): Promise<string> {
  try {
    const mails = await p;
    return `mails to ${mails.map((m) => m.ml_send_to?.[0]).join(', ')}`;
  } catch (error) {
    if (isSignal(error)) return `${error.kind}: ${error.reason}`;
    throw error;
  }
}

describe('bounce handler: VERP with a cookie, probe first', () => {
  it('a member whose posts bounce on 5 days is probed, and set to nomail only when the probe bounces', async () => {
    const handler = handlerWith();
    for (let day = 0; day < 4; day++) {
      expect(
        await outcome(
          handler.handle(
            await corpusMail('049-dsn-fastmail-postfix-arc.eml', `d${day}`),
            verpOf('alice@example.com'),
          ),
        ),
      ).toMatch(/^discard: bounce recorded \(alice@example.com hard\)/);
      // More bounces the same day add nothing (the daily cap).
      await handler
        .handle(
          await corpusMail('054-qmail-plain-bounce.eml', `same${day}`),
          verpOf('alice@example.com'),
        )
        .catch(() => {});
      now += DAY;
    }
    now += DAY;
    const fifth = await corpusMail('049-dsn-fastmail-postfix-arc.eml', 'd5');
    const [probe, ...rest] = await handler.handle(fifth, verpOf('alice@example.com'));
    expect(rest).toEqual([]);
    expect(probe!.ml_send_to).toEqual(['alice@example.com']);
    expect(probe!.header.get('Auto-Submitted')).toBe('auto-generated');
    expect(bodyText(probe!)).toMatch(/This message is a test/);
    // The probe's sender is alice's VERP address with the probe's own cookie.
    const probeVerp = verpDecode('red-bounces@list.example', probe!.ml_sender!)!;
    expect(probeVerp.recipient).toBe('alice@example.com');
    expect(probeVerp.cookie).not.toBe(verpOf('alice@example.com').cookie);
    expect((await store.get('alice@example.com'))?.nomail).toBeUndefined();
    // More post bounces while the probe is out do not disable, nor probe again.
    now += DAY;
    expect(
      await outcome(
        handler.handle(
          await corpusMail('049-dsn-fastmail-postfix-arc.eml', 'd6'),
          verpOf('alice@example.com'),
        ),
      ),
    ).toMatch(/^discard: bounce recorded/);
    expect((await store.get('alice@example.com'))?.nomail).toBeUndefined();

    // The probe bounces: alice is on nomail; she and the owner are told, with the evidence.
    const probeBounce = await corpusMail('049-dsn-fastmail-postfix-arc.eml', 'probe');
    const notices = await handler.handle(probeBounce, probeVerp);
    expect(notices.map((m) => m.ml_send_to![0])).toEqual([
      'alice@example.com',
      'owner@list.example',
    ]);
    expect(await store.get('alice@example.com')).toEqual({
      address: 'alice@example.com',
      nomail: true,
      nomail_reason: 'bounce',
    });
    const owner = bodyText(notices[1]!);
    expect(owner).toMatch(/probe sent at the threshold bounced too/);
    expect(owner).toMatch(/hard {2}\(probe, VERP cookie\)/);
    expect(owner).toMatch(/hard {2}\(VERP cookie\)/);
    // Replayed: the same notices with the same keys, nothing counted twice.
    const again = await handler.handle(probeBounce, probeVerp);
    expect(again.map((m) => m.key)).toEqual(notices.map((m) => m.key));
    expect((await new BounceState(dir, 'red').get('alice@example.com'))?.count).toBe(11);
  });

  it('a probe that does not bounce within probe_days has passed: the score starts again', async () => {
    const handler = handlerWith({ threshold: 1 });
    const [probe] = await handler.handle(
      await corpusMail('049-dsn-fastmail-postfix-arc.eml', 'a'),
      verpOf('alice@example.com'),
    );
    expect(probe?.ml_send_to).toEqual(['alice@example.com']);
    now += 8 * DAY;
    // The next bounce finds the probe passed: scored from 0, and a new probe (threshold 1).
    const [second] = await handler.handle(
      await corpusMail('049-dsn-fastmail-postfix-arc.eml', 'b'),
      verpOf('alice@example.com'),
    );
    expect(second?.ml_sender).not.toBe(probe?.ml_sender);
    const record = await new BounceState(dir, 'red').get('alice@example.com');
    expect(record?.probe_passed_at).toBe(now);
    expect(record?.score).toBe(1);
    // A bounce of the old probe is only a bounce now: it disables no one.
    await handler
      .handle(
        await corpusMail('054-qmail-plain-bounce.eml', 'old'),
        verpDecode('red-bounces@list.example', probe!.ml_sender!)!,
      )
      .catch(() => {});
    expect((await store.get('alice@example.com'))?.nomail).toBeUndefined();
  });

  it('a long address is named by its token, and counts', async () => {
    const verp = verpOf(LONG);
    expect(verp.token).toMatch(/^[a-z2-7]{16}$/);
    expect(
      await outcome(
        handlerWith().handle(await corpusMail('049-dsn-fastmail-postfix-arc.eml', 't'), verp),
      ),
    ).toMatch(new RegExp(`^discard: bounce recorded \\(${LONG.replace(/\./g, '\\.')} hard\\)`));
  });

  it('forged VERP addresses count for nothing: no cookie, a wrong one, an expired one, a token of no one', async () => {
    const handler = handlerWith({ threshold: 1 });
    const bounce = () => corpusMail('049-dsn-fastmail-postfix-arc.eml', `f${Math.random()}`);
    const plain = verpDecode(
      'red-bounces@list.example',
      verpAddress('red-bounces@list.example', 'alice@example.com'),
    )!;
    expect(await outcome(handler.handle(await bounce(), plain))).toBe(
      'discard: bounce not counted: a VERP address without a cookie for alice@example.com (forged or stale)',
    );
    expect(
      await outcome(handler.handle(await bounce(), { ...plain, cookie: 'aaaaaaaaaa' })),
    ).toMatch(/^discard: bounce not counted: a VERP cookie that is wrong or expired/);
    // Bob's cookie does not name alice.
    expect(
      await outcome(
        handler.handle(await bounce(), { ...plain, cookie: verpOf('xxxx@xxxx.com').cookie! }),
      ),
    ).toMatch(/wrong or expired/);
    expect(
      await outcome(handler.handle(await bounce(), verpOf('alice@example.com', now - 30 * DAY))),
    ).toMatch(/wrong or expired/);
    expect(
      await outcome(
        handler.handle(await bounce(), { token: 'abcdefghijklmnop', cookie: 'aaaaaaaaaa' }),
      ),
    ).toMatch(/a VERP token of no member/);
    expect(await new BounceState(dir, 'red').all()).toEqual({});
    expect((await store.get('alice@example.com'))?.nomail).toBeUndefined();
  });

  it('auto-replies, challenges and receipts to a VERP address do not count; an unreadable notice there does', async () => {
    const handler = handlerWith({ threshold: 5 });
    for (const file of [
      '056-autoreply-precedence-bulk.eml',
      '057-autoreply-auto-submitted.eml',
      '058-autoreply-iso-8859-2.eml',
      '059-mdn-read-receipt.eml',
    ]) {
      expect(
        await outcome(handler.handle(await corpusMail(file, file), verpOf('alice@example.com'))),
      ).toMatch(/^discard: not a bounce/);
    }
    const challenge = createListMail(
      Buffer.from(
        'From: robot@example.com\nSubject: Please verify your email address\nX-Boxtrapper: yes\n\nClick to verify.\n',
      ),
      { fetcher: 'test', id: 'c' },
    );
    expect(await outcome(handler.handle(challenge, verpOf('alice@example.com')))).toBe(
      'discard: not a bounce (challenge-response)',
    );
    expect(await new BounceState(dir, 'red').get('alice@example.com')).toBeUndefined();
    const odd = createListMail(
      Buffer.from('From: postmaster@example.com\nSubject: Mail system notice\n\nSomething odd.\n'),
      { fetcher: 'test', id: 'o' },
    );
    expect(await outcome(handler.handle(odd, verpOf('alice@example.com')))).toBe(
      'discard: bounce recorded (alice@example.com soft)',
    );
  });

  it('soft bounces count for less; scores fade after a quiet week', async () => {
    const handler = handlerWith();
    await handler
      .handle(await corpusMail('045-dsn-via-list-list-id.eml', 's1'), verpOf('alice@example.com'))
      .catch(() => {});
    const state = new BounceState(dir, 'red');
    expect((await state.get('alice@example.com'))?.score).toBeCloseTo(0.5);
    now += 14 * DAY;
    await handler
      .handle(
        await corpusMail('049-dsn-fastmail-postfix-arc.eml', 'h1'),
        verpOf('alice@example.com'),
      )
      .catch(() => {});
    expect((await state.get('alice@example.com'))?.score).toBeCloseTo(1.25);
  });
});

describe('bounce handler: reports at the plain address and the sent index', () => {
  it('counts a report only when it names a Message-ID the list sent to that member', async () => {
    const handler = handlerWith({ threshold: 5 });
    const index = new SentIndex(dir);
    await index.record('red', '<post1@list.example>', ['alice@example.com'], now);
    // Forged: a member, but a Message-ID the list never sent (or none at all).
    expect(await outcome(handler.handle(dsn('alice@example.com', 'f1', '<made-up@x>')))).toBe(
      'discard: bounce not counted: alice@example.com (no VERP cookie, and no Message-ID this list sent them)',
    );
    expect(await outcome(handler.handle(dsn('alice@example.com', 'f2')))).toMatch(/not counted/);
    // A real post, but not sent to this member.
    expect(
      await outcome(handler.handle(dsn('xxxx@xxxx.com', 'f3', '<post1@list.example>'))),
    ).toMatch(/not counted: xxxx@xxxx.com/);
    expect(await new BounceState(dir, 'red').all()).toEqual({});
    // The real thing counts.
    expect(
      await outcome(handler.handle(dsn('alice@example.com', 'r1', '<post1@list.example>'))),
    ).toBe('discard: bounce recorded (alice@example.com hard)');
    // Non-members are not counted.
    expect(
      await outcome(handler.handle(await corpusMail('052-dsn-bulk-mail-verp-address.eml', 'b'))),
    ).toMatch(/^discard: bounce not counted: recipient@example.net \(not a member\)/);
  });

  it('a bounce the parser cannot attribute is logged as an unrecognised bounce, with sender and subject', async () => {
    const odd = createListMail(
      Buffer.from(
        'From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\nSubject: Undeliverable: hello\nAuto-Submitted: auto-replied\n\nYour message could not be delivered.\n',
      ),
      { fetcher: 'test', id: 'u' },
    );
    expect(await outcome(handlerWith().handle(odd))).toBe(
      'discard: unrecognised bounce from Mail Delivery System <MAILER-DAEMON@mx.example.net>: Undeliverable: hello',
    );
  });
});

describe('classifyBounce edge cases', () => {
  it('a success report (Action: delivered) is not a bounce; an unreadable recipient falls back to X-Failed-Recipients', async () => {
    const { classifyBounce } = await import('../../src/bounces/classify.ts');
    const report = (fields: string, extra = '') =>
      Buffer.from(
        `From: MAILER-DAEMON@mx\n${extra}Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n${fields}\n--b--\n`,
      );
    expect(
      classifyBounce(
        report('Final-Recipient: rfc822; a@example.com\nAction: delivered\nStatus: 2.0.0'),
      ),
    ).toEqual({
      kind: 'not-bounce',
      reason: 'success-report',
    });
    const odd = classifyBounce(
      report(
        'Final-Recipient: X-Notes; CN=Someone/O=Org\nAction: failed\nStatus: 5.1.1',
        'X-Failed-Recipients: someone@example.org\n',
      ),
    );
    expect(odd).toMatchObject({ kind: 'bounce', recipients: [{ address: 'someone@example.org' }] });
  });

  it('names the Message-ID of the returned message, not its own', async () => {
    const { classifyBounce } = await import('../../src/bounces/classify.ts');
    const verdict = classifyBounce(
      Buffer.from(hardBounce({ to: 'x@y', recipient: 'a@b.example', n: 1, returned: '<p@l>' })),
    );
    expect(verdict).toMatchObject({ kind: 'bounce', returned: ['<p@l>'] });
  });
});
