/** Bounce handling: VERP and report addresses, scoring with a daily cap, nomail + notice + probe. */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import createBounceHandler from '../../src/bounces/handler.ts';
import { BounceState } from '../../src/bounces/state.ts';
import { isSignal } from '../../src/errors.ts';
import type { ListSettings } from '../../src/list/settings.ts';
import { createListMail } from '../../src/mail/list-mail.ts';
import createMemoryMemberStore from '../../src/members/memory.ts';
import type { MemberStore } from '../../src/members/store.ts';
import { CORPUS_DIR as CORPUS } from '../helpers/corpus.ts';

const DAY = 86_400_000;
const list: ListSettings = {
  name: 'red',
  address: 'red@list.example',
  members: [],
  moderators: ['owner@list.example'],
};

let store: MemberStore;
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'malist-bounce-'));
  store = createMemoryMemberStore({
    members: [{ address: 'alice@example.com' }, { address: 'xxxx@xxxx.com' }],
  });
});

async function corpusMail(file: string, salt: string) {
  const raw = Buffer.concat([Buffer.from(`X-Test: ${salt}\n`), await readFile(join(CORPUS, file))]);
  return createListMail(raw, { fetcher: 'test', id: salt });
}

async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    const mails = (await p) as { ml_send_to?: string[] }[];
    return `mails to ${mails.map((m) => m.ml_send_to?.[0]).join(', ')}`;
  } catch (error) {
    if (isSignal(error)) return `${error.kind}: ${error.reason}`;
    throw error;
  }
}

describe('bounce handler', () => {
  it('a member whose posts bounce on 5 days is set to nomail, told (with a probe), owners told', async () => {
    let now = Date.parse('2026-11-01T12:00:00Z');
    const handler = createBounceHandler(list, { store, state_dir: dir, now: () => now });
    for (let day = 0; day < 4; day++) {
      expect(
        await outcome(
          handler.handle(
            await corpusMail('049-dsn-fastmail-postfix-arc.eml', `d${day}`),
            'alice@example.com',
          ),
        ),
      ).toMatch(/^discard: bounce recorded \(alice@example.com hard\)/);
      // More bounces the same day add nothing (the daily cap).
      await handler
        .handle(await corpusMail('054-qmail-plain-bounce.eml', `same${day}`), 'alice@example.com')
        .catch(() => {});
      now += DAY;
    }
    expect((await store.get('alice@example.com'))?.nomail).toBeUndefined();
    now += DAY;
    const last = await corpusMail('049-dsn-fastmail-postfix-arc.eml', 'd5');
    const mails = await handler.handle(last, 'alice@example.com');
    expect(mails.map((m) => m.ml_send_to![0])).toEqual(['alice@example.com', 'owner@list.example']);
    expect(mails[0]!.ml_sender).toBe('red-bounces+alice=example.com@list.example');
    expect(mails[0]!.header.get('Auto-Submitted')).toBe('auto-replied');
    expect(mails[0]!.body.toString()).toMatch(/set mail/);
    expect(await store.get('alice@example.com')).toEqual({
      address: 'alice@example.com',
      nomail: true,
      nomail_reason: 'bounce',
    });
    // Replayed: the same notices with the same keys, nothing counted twice.
    const again = await handler.handle(last, 'alice@example.com');
    expect(again.map((m) => m.key)).toEqual(mails.map((m) => m.key));
    expect((await new BounceState(dir, 'red').get('alice@example.com'))?.count).toBe(9);
  });

  it('without VERP, the report names the member; non-members are ignored', async () => {
    const handler = createBounceHandler(list, { store, state_dir: dir, threshold: 1 });
    expect(await outcome(handler.handle(await corpusMail('048-dsn-amazonses.eml', 'a')))).toBe(
      'mails to xxxx@xxxx.com, owner@list.example',
    );
    expect(
      await outcome(handler.handle(await corpusMail('052-dsn-bulk-mail-verp-address.eml', 'b'))),
    ).toMatch(/^discard: bounce recorded \(recipient@example.net hard\)/);
    expect(await store.list()).toHaveLength(2);
  });

  it('a bounce the parser cannot attribute is logged as an unrecognised bounce, with sender and subject', async () => {
    const handler = createBounceHandler(list, { store, state_dir: dir, threshold: 1 });
    const odd = createListMail(
      Buffer.from(
        'From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\nSubject: Undeliverable: hello\nAuto-Submitted: auto-replied\n\nYour message could not be delivered.\n',
      ),
      { fetcher: 'test', id: 'u' },
    );
    expect(await outcome(handler.handle(odd))).toBe(
      'discard: unrecognised bounce from Mail Delivery System <MAILER-DAEMON@mx.example.net>: Undeliverable: hello',
    );
  });

  it('auto-replies, challenges and receipts to a VERP address do not count', async () => {
    const handler = createBounceHandler(list, { store, state_dir: dir, threshold: 1 });
    for (const file of [
      '056-autoreply-precedence-bulk.eml',
      '057-autoreply-auto-submitted.eml',
      '058-autoreply-iso-8859-2.eml',
      '059-mdn-read-receipt.eml',
    ]) {
      expect(
        await outcome(handler.handle(await corpusMail(file, file), 'alice@example.com')),
      ).toMatch(/^discard: not a bounce/);
    }
    const challenge = createListMail(
      Buffer.from(
        'From: robot@example.com\nSubject: Please verify your email address\nX-Boxtrapper: yes\n\nClick to verify.\n',
      ),
      { fetcher: 'test', id: 'c' },
    );
    expect(await outcome(handler.handle(challenge, 'alice@example.com'))).toBe(
      'discard: not a bounce (challenge-response)',
    );
    expect(await new BounceState(dir, 'red').get('alice@example.com')).toBeUndefined();
  });

  it('soft bounces count for less; scores fade after a quiet week', async () => {
    let now = Date.parse('2026-11-01T12:00:00Z');
    const handler = createBounceHandler(list, { store, state_dir: dir, now: () => now });
    await handler
      .handle(await corpusMail('045-dsn-via-list-list-id.eml', 's1'), 'alice@example.com')
      .catch(() => {});
    const state = new BounceState(dir, 'red');
    expect((await state.get('alice@example.com'))?.score).toBeCloseTo(0.5);
    now += 14 * DAY;
    await handler
      .handle(await corpusMail('049-dsn-fastmail-postfix-arc.eml', 'h1'), 'alice@example.com')
      .catch(() => {});
    expect((await state.get('alice@example.com'))?.score).toBeCloseTo(1.25);
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
});
