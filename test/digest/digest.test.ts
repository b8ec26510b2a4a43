/**
 * Digests: MIME (multipart/digest) parses with mailparser and with Python's email package,
 * plain (RFC 1153) with mailparser and in mutt, with every post intact; numbering by volume and issue; thresholds; a resend
 * after a crash is the same digest.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import createDigestCollector from '../../src/digest/collector.ts';
import { nextNumber } from '../../src/digest/numbering.ts';
import { buildDigestMail } from '../../src/digest/send.ts';
import { DigestStore } from '../../src/digest/store.ts';
import type { ListSettings } from '../../src/list/settings.ts';
import { createListMail, mailBytes } from '../../src/mail/list-mail.ts';
import createMemoryMemberStore from '../../src/members/memory.ts';
import type { Distributor, ListMail } from '../../src/types.ts';
import { CORPUS_DIR as CORPUS } from '../helpers/corpus.ts';
import { muttAvailable, muttMessages } from '../helpers/mutt.ts';
import { pythonDigest, pythonEmailAvailable } from '../helpers/python-email.ts';

const FILES = [
  '001-plain-lf.eml',
  '008-shift-jis-8bit.eml',
  '013-from-two-mailboxes.eml',
  '026-dkim-inline-images-watch-html.eml',
  '031-list-post-pgp-signed-with-footer.eml',
];
const list: ListSettings = {
  name: 'red',
  address: 'red@list.example',
  display_name: 'Red',
  members: [],
};
const number = { volume: 3, issue: 7, year: 2026 };

async function posts(): Promise<Buffer[]> {
  const out = await Promise.all(FILES.map((f) => readFile(join(CORPUS, f))));
  // A body line of 30 hyphens must not end the message in the plain digest.
  out.push(
    Buffer.from(
      `From: x@example.com\nSubject: hyphens\nMessage-ID: <h@x>\n\nabove\n${'-'.repeat(30)}\nbelow\n`,
    ),
  );
  return out;
}

/** Wire form, LF line ends, no mbox From_ line, no trailing blank lines. */
function canonical(bytes: Buffer | string): string {
  const text = typeof bytes === 'string' ? bytes : bytes.toString('latin1');
  return text
    .replace(/^\xef\xbb\xbf/, '')
    .replace(/^From [^\n]*\n/, '')
    .replace(/\r\n/g, '\n')
    .replace(/\n+$/, '');
}

async function asMbox(raw: Buffer): Promise<string> {
  const file = join(await mkdtemp(join(tmpdir(), 'malist-digest-')), 'digest.mbox');
  const text = raw
    .toString('latin1')
    .replace(/\r\n/g, '\n')
    .replace(/^(>*From )/gm, '>$1');
  await writeFile(
    file,
    Buffer.from(`From red-request@list.example Mon Nov 23 10:00:00 2026\n${text}\n`, 'latin1'),
  );
  return file;
}

describe('digest formats', () => {
  const mutt = muttAvailable();
  const python = pythonEmailAvailable();

  it('MIME digest parses with mailparser: each post a message/rfc822 part, byte for byte', async () => {
    const raw = await posts();
    const mail = await buildDigestMail(list, number, raw, { format: 'mime' });
    const parsed = await simpleParser(mailBytes(mail));
    expect(parsed.subject).toBe('Red Digest, Vol 3, Issue 7');
    expect(parsed.text).toMatch(/Today's Topics:/);
    const inner = parsed.attachments.filter((a) => a.contentType === 'message/rfc822');
    expect(inner).toHaveLength(raw.length);
    for (const [i, a] of inner.entries()) {
      expect(canonical(a.content), FILES[i]).toBe(canonical(raw[i]!));
    }
  });

  // A second reader, independent of mailparser and needing no terminal (a mail reader driven
  // by keys through a pseudo-terminal lost entries under load): Python's email package.
  it.runIf(python)(
    'MIME digest reads in Python’s email package: each post a message/rfc822 part, intact',
    async () => {
      const raw = await posts();
      const mail = await buildDigestMail(list, number, raw, { format: 'mime' });
      const read = await pythonDigest(mailBytes(mail), raw);
      expect(read.type).toBe('multipart/mixed');
      expect(read.digestTypes).toEqual(raw.map(() => 'message/rfc822'));
      expect(read.entries.map(canonical)).toEqual(read.originals.map(canonical));
    },
  );

  it('plain RFC 1153 digest: topics, separators, each post, the end line', async () => {
    const raw = await posts();
    const mail = await buildDigestMail(list, number, raw, { format: 'plain' });
    const parsed = await simpleParser(mailBytes(mail));
    const text = parsed.text ?? '';
    expect(parsed.headers.get('content-type')).toMatchObject({ value: 'text/plain' });
    const separators = text.split('\n').filter((l) => l === '-'.repeat(30));
    expect(separators).toHaveLength(raw.length + 1); // after each post and after the footer
    expect(text).toMatch(/\nEnd of Red Digest, Vol 3, Issue 7\n\*+\n?$/);
    for (const post of raw) {
      const p = await simpleParser(post);
      expect(text).toContain(`Subject: ${p.subject}`);
      const firstLine = (p.text ?? '').trim().split('\n')[0]!;
      expect(text).toContain(firstLine);
    }
    expect(text).toContain(` ${'-'.repeat(30)}\nbelow`);
  });

  it('plain digest entries take no line breaks from encoded subjects or senders', async () => {
    const hostile = Buffer.from(
      'From: =?utf-8?q?Eve=0D=0AX-Forged=3A_yes?= <eve@x.example>\r\n' +
        'Subject: =?utf-8?q?hello=0D=0ASubject:_forged=0Aline?=\r\n' +
        'Date: Mon, 4 Jan 2027 10:00:00 +0000\r\nMessage-ID: <h1@x.example>\r\n\r\nbody\rwith a bare CR\r\n',
    );
    const mail = await buildDigestMail(list, number, [hostile], { format: 'plain' });
    const text = mailBytes(mail).toString('utf8');
    const lines = text.split('\r\n');
    expect(lines.filter((l) => l.startsWith('Subject: '))).toHaveLength(2); // the digest's and the entry's
    expect(lines).toContain('Subject: hello Subject: forged line');
    expect(lines).toContain('From: "Eve X-Forged: yes" <eve@x.example>');
    expect(lines.some((l) => l.startsWith('X-Forged'))).toBe(false);
    expect(text).not.toMatch(/\r(?!\n)/);
    expect(text).toContain('1. hello Subject: forged line ("Eve X-Forged: yes"');
  });

  it.runIf(mutt)('plain digest opens in mutt as one intact message', async () => {
    const raw = await posts();
    const mail = await buildDigestMail(list, number, raw, { format: 'plain' });
    const seen = await muttMessages(await asMbox(mailBytes(mail)));
    expect(seen).toHaveLength(1);
    expect(canonical(seen[0]!.replace(/^>(>*From )/gm, '$1'))).toBe(canonical(mailBytes(mail)));
  });
});

describe('digest numbering and sending', () => {
  it('numbers by volume (year) and issue', () => {
    const d = new Date('2026-05-01T00:00:00Z');
    expect(nextNumber(undefined, d)).toEqual({ volume: 1, issue: 1, year: 2026 });
    expect(nextNumber({ volume: 1, issue: 4, year: 2026 }, d)).toEqual({
      volume: 1,
      issue: 5,
      year: 2026,
    });
    expect(nextNumber({ volume: 1, issue: 9, year: 2025 }, d)).toEqual({
      volume: 2,
      issue: 1,
      year: 2026,
    });
  });

  it('collects posts and sends to digest members when the size threshold is met; issues count up', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'malist-digest-'));
    const members = createMemoryMemberStore({
      members: [
        { address: 'd@example.com', digest: true },
        { address: 'p@example.com' },
        { address: 'txt@example.com', digest: true, plain: true },
        { address: 'n@example.com', digest: true, nomail: true },
      ],
    });
    const sent: ListMail[] = [];
    const send: Distributor = {
      name: 'fake',
      async distribute(mail) {
        sent.push(mail);
        return {
          results: (mail.ml_send_to ?? []).map((recipient) => ({
            recipient,
            status: 'delivered' as const,
            distributor: 'fake',
          })),
        };
      },
    };
    let now = new Date('2026-11-02T08:00:00Z');
    const collector = createDigestCollector({
      state_dir: dir,
      lists: { red: { list, members, size_kb: 4, max_age_hours: 24 } },
      send,
      now: () => now,
    });
    const post = (i: number, size = 1000) => {
      const m = createListMail(
        Buffer.from(
          `From: a@example.com\nSubject: post ${i}\nMessage-ID: <p${i}@x>\n\n${'x'.repeat(size)}\n`,
        ),
        { fetcher: 't', id: String(i) },
      );
      m.ml_list_name = 'red';
      return m;
    };
    // A list where nobody takes digests keeps no copies at all.
    const idle = createDigestCollector({
      state_dir: dir,
      lists: {
        blue: {
          list: { ...list, name: 'blue' },
          members: createMemoryMemberStore({ members: [{ address: 'p@example.com' }] }),
          size_kb: 4,
        },
      },
      send,
      now: () => now,
    });
    const bluePost = post(99);
    bluePost.ml_list_name = 'blue';
    await idle.distribute(bluePost);
    expect(await new DigestStore(dir, 'blue').pending()).toEqual([]);
    for (let i = 0; i < 3; i++) await collector.distribute(post(i));
    await collector.distribute(post(0)); // a replay is not collected twice
    expect(sent).toHaveLength(0);
    await collector.distribute(post(3, 2000));
    expect(sent).toHaveLength(2);
    expect(sent[0]!.ml_send_to).toEqual(['d@example.com']);
    // Members with `plain` get the RFC 1153 digest of the same issue.
    expect(sent[1]!.ml_send_to).toEqual(['txt@example.com']);
    expect(sent[1]!.header.get('Content-Type')).toMatch(/^text\/plain/);
    expect(sent[1]!.header.get('Subject')).toBe('Red Digest, Vol 1, Issue 1');
    expect(sent[0]!.header.get('Subject')).toBe('Red Digest, Vol 1, Issue 1');
    expect(
      (await simpleParser(mailBytes(sent[0]!))).attachments.filter(
        (a) => a.contentType === 'message/rfc822',
      ),
    ).toHaveLength(4);
    // Age threshold: one small post, a day later the next post triggers issue 2.
    await collector.distribute(post(4, 10));
    now = new Date('2026-11-03T09:00:00Z');
    await collector.distribute(post(5, 10));
    expect(
      sent.filter((m) => m.ml_send_to![0] === 'd@example.com').map((m) => m.header.get('Subject')),
    ).toEqual(['Red Digest, Vol 1, Issue 1', 'Red Digest, Vol 1, Issue 2']);
  });

  it('an issue claimed before a crash is resent as the same digest (same key, same posts)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'malist-digest-'));
    const store = new DigestStore(dir, 'red');
    await store.add('k1', Buffer.from('Subject: one\n\n1\n'), 1);
    const issue = await store.claim(new Date('2026-11-02T00:00:00Z'));
    await store.add('k2', Buffer.from('Subject: two\n\n2\n'), 2); // arrives after the claim
    const again = await store.claim(new Date('2026-11-03T00:00:00Z'));
    expect(again).toEqual(issue);
    const a = await buildDigestMail(list, again!.number, await store.postBytes(again!));
    const b = await buildDigestMail(list, issue!.number, await store.postBytes(issue!));
    expect(a.key).toBe(b.key);
    await store.finish(again!);
    expect((await store.pending()).map((p) => p.name)).toHaveLength(1);
    expect((await store.claim(new Date('2026-11-04T00:00:00Z')))!.number).toEqual({
      volume: 1,
      issue: 2,
      year: 2026,
    });
  });
});
