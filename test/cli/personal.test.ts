/**
 * Personal content through the queue, as users run it: a list whose footer names the
 * member and whose unsubscribe URL is personal. Every member gets a copy of their own (the
 * footer, List-Unsubscribe with an RFC 8058 one-click URL whose token `malist serve`
 * accepts), in one transaction each — in the first round and in the retry of a member
 * deferred with 451.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSecret } from '../../src/commands/secret.ts';
import { checkUnsubscribeToken } from '../../src/state/unsubscribe-token.ts';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-server.ts';
import { malist, tempConfig } from './run-malist.ts';

const MEMBERS = ['ann@example.org', 'ben@example.net', 'cat@example.org'];
const ID = 'personal-1@example.org';

describe('personal footers and unsubscribe URLs through the queue', () => {
  let server: TestSmtpServer;
  beforeAll(async () => {
    server = await startSmtpServer();
  });
  afterAll(() => server?.stop());

  it('each member gets their own copy, first round and retry alike', async () => {
    const dir = await tempConfig(
      `state_dir: state\ndistribute:\n  type: queue\n  server: out\nservers:\n  out:\n    host: 127.0.0.1\n    port: ${server.port}\n    starttls: never\nqueue:\n  dir: spool\n  retry: { initial_seconds: 0.001 }\n`,
    );
    await writeFile(
      join(dir, 'lists/blue.yaml'),
      [
        'address: blue@list.example.com',
        'posting: open',
        `members: [${MEMBERS.join(', ')}]`,
        'unsubscribe_url: https://lists.example.com/unsubscribe/{list}/{member}/{token}',
        'unit_options:',
        '  footer: { text: "Sent to {member}. Leave: {unsubscribe_url}" }',
        '',
      ].join('\n'),
    );
    server.addRule({
      stage: 'rcpt',
      recipient: 'ben@example.net',
      reply: { code: 451, message: 'greylisted' },
      times: 1,
    });
    const input = `From: someone@example.com\r\nTo: blue@list.example.com\r\nSubject: hello\r\nMessage-ID: <${ID}>\r\n\r\nHello, list.\r\n`;
    const first = await malist(['receive', '--config', dir, '--list', 'blue'], { input });
    // The operator is told that one member waits in the queue.
    expect(first.stderr).toContain('1 recipient(s) queued for a later try: ben@example.net (451');
    expect(first.code).toBe(0);
    expect(MEMBERS.map((m) => server.count(m, ID))).toEqual([1, 0, 1]);

    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = await malist(['run', '--config', dir]);
    expect(second.code).toBe(0);
    expect(MEMBERS.map((m) => server.count(m, ID))).toEqual([1, 1, 1]);

    const secret = await loadSecret(join(dir, 'state'));
    const copies = server.accepted.filter((m) => m.messageId === ID);
    expect(copies).toHaveLength(3);
    for (const copy of copies) {
      expect(copy.to).toHaveLength(1);
      const member = copy.to[0]!;
      // Header fields unfolded.
      const text = copy.raw.toString('utf8').replace(/\r?\n[ \t]+/g, ' ');
      expect(text).toContain(`Sent to ${member}.`);
      const url = /List-Unsubscribe: <mailto:[^>]+>, <([^>]+)>/.exec(text)?.[1];
      expect(url, member).toMatch(
        new RegExp(
          `^https://lists\\.example\\.com/unsubscribe/blue/${encodeURIComponent(member)}/[0-9a-f]{32}$`,
        ),
      );
      expect(text).toContain('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
      expect(text).toContain(`Leave: ${url}`);
      const token = url!.split('/').pop()!;
      expect(checkUnsubscribeToken(secret, 'blue', member, token)).toBe(true);
      for (const other of MEMBERS.filter((m) => m !== member)) expect(text).not.toContain(other);
    }
    expect(server.duplicates()).toEqual([]);
  });

  it('a personal unsubscribe URL with the shared footer: the footer once, the URL their own', async () => {
    const dir = await tempConfig(
      `state_dir: state\ndistribute:\n  type: queue\n  server: out\nservers:\n  out:\n    host: 127.0.0.1\n    port: ${server.port}\n    starttls: never\nqueue:\n  dir: spool\n`,
    );
    await writeFile(
      join(dir, 'lists/teal.yaml'),
      'address: teal@list.example.com\nposting: open\nmembers: [ann@example.org, cat@example.org]\nunsubscribe_url: https://lists.example.com/u/{list}/{member}/{token}\n',
    );
    const id = 'personal-2@example.org';
    const input = `From: someone@example.com\r\nTo: teal@list.example.com\r\nSubject: hi\r\nMessage-ID: <${id}>\r\n\r\nHello.\r\n`;
    const r = await malist(['receive', '--config', dir, '--list', 'teal'], { input });
    expect(r.code).toBe(0);
    const copies = server.accepted.filter((m) => m.messageId === id);
    expect(copies.map((c) => c.to)).toEqual(
      expect.arrayContaining([['ann@example.org'], ['cat@example.org']]),
    );
    for (const copy of copies) {
      const text = copy.raw.toString('utf8').replace(/\r?\n[ \t]+/g, ' ');
      expect(text.split('To unsubscribe, send "unsubscribe"')).toHaveLength(2);
      expect(text).toContain(`/u/teal/${encodeURIComponent(copy.to[0]!)}/`);
    }
  });
});
