import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixtureMail, mailOf, redList } from '../../test/posting/corpus.ts';
import { automationReason, isAutomated } from '../mail/automated.ts';
import type { Notice } from './compose.ts';
import { sendListNotice } from './list-notices.ts';
import { NoticeRateLimit } from './rate-limit.ts';

describe('isAutomated', () => {
  it('recognises the robots of the corpus', () => {
    for (const prefix of [
      '045',
      '046',
      '047',
      '048',
      '049',
      '050',
      '051',
      '052',
      '055',
      '056',
      '057',
      '058',
      '059',
      '029',
      '061',
    ])
      expect(automationReason(fixtureMail(prefix)), prefix).toBeDefined();
  });

  it('leaves people alone', () => {
    for (const prefix of ['001', '004', '013', '023', '026', '030', '033'])
      expect(automationReason(fixtureMail(prefix)), prefix).toBeUndefined();
    expect(isAutomated(mailOf('From: a@x.example\nAuto-Submitted: no\n\nhi\n'))).toBe(false);
    expect(
      isAutomated(mailOf('From: a@x.example\nAuto-Submitted: auto-generated (warning)\n\nx\n')),
    ).toBe(true);
    expect(isAutomated(mailOf('From: red-request@x.example\n\nx\n'))).toBe(true);
    expect(isAutomated(mailOf('From: a@x.example\nReturn-Path: <>\n\nx\n'))).toBe(true);
  });
});

describe('notices', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'malist-notices-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('limits notices per address per day, across instances (durable)', async () => {
    const a = new NoticeRateLimit(dir, { per_day: 2 });
    const day = Date.parse('2026-01-02T10:00:00Z');
    expect(await a.take('X@Example.com', day)).toBe(true);
    expect(await new NoticeRateLimit(dir, { per_day: 2 }).take('x@example.com', day)).toBe(true);
    expect(await a.take('x@EXAMPLE.com', day)).toBe(false);
    expect(await a.take('y@example.com', day)).toBe(true);
    expect(await a.take('x@example.com', day + 86_400_000)).toBe(true);
  });

  it('composes an auto-replied notice with the post attached byte for byte, and never answers a robot', async () => {
    const sent: Notice[] = [];
    const outlet = {
      send: async (n: Notice) => void sent.push(n),
      limit: new NoticeRateLimit(dir),
    };
    const post = fixtureMail('005'); // 8-bit subject and body
    const outcome = await sendListNotice(outlet, redList(), {
      kind: 'rejected',
      to: 'Poster <poster@example.com>',
      about: post,
      answering: post,
      vars: { reason: 'Not a member.' },
    });
    expect(outcome).toBe('sent');
    expect(sent[0]!.from).toBe('red-bounces@list.example.com');
    expect(sent[0]!.to).toBe('poster@example.com');
    const parsed = await simpleParser(sent[0]!.raw);
    expect(parsed.headers.get('auto-submitted')).toBe('auto-replied');
    expect(parsed.text).toContain('Not a member.');
    expect(parsed.attachments[0]?.contentType).toBe('message/rfc822');
    expect(parsed.attachments[0]?.content).toEqual(post.raw);
    const robot = fixtureMail('057');
    expect(
      await sendListNotice(outlet, redList(), {
        kind: 'rejected',
        to: 'fredbloggs@test.com',
        about: robot,
        answering: robot,
      }),
    ).toBe('automated');
    expect(sent).toHaveLength(1);
  });
});
