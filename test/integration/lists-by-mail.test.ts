/**
 * Moderation, membership and bounces wired into the real command line: every step is
 * `node bin/malist.js receive` (or run, queue, check) in a child process on a temporary
 * configuration, delivering through the durable queue to the test SMTP server or into
 * local maildirs.
 */
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSecret } from '../../src/commands/secret.ts';
import { memberBounceAddress, probeBounceAddress } from '../../src/list/verp.ts';
import { malist, tempConfig } from '../cli/run-malist.ts';
import { hardBounce } from '../helpers/dsn.ts';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-server.ts';
import { writeQueueConfig } from '../queue/config-file.ts';
import { inboxConfig } from './inbox-config.ts';

/** No envelope recipient from the test runner's environment: routing is by the test's choice. */
const NO_ENVELOPE = { ORIGINAL_RECIPIENT: '', RECIPIENT: '', LOCAL: '', DOMAIN: '' };

function mail(headers: Record<string, string>, body = 'Hello.\n'): string {
  const lines = Object.entries({ Date: 'Mon, 23 Nov 2026 10:00:00 +0000', ...headers }).map(
    ([k, v]) => `${k}: ${v}`,
  );
  return `${lines.join('\r\n')}\r\n\r\n${body.replace(/\n/g, '\r\n')}`;
}

function receive(dir: string, input: string, args: string[] = [], env: NodeJS.ProcessEnv = {}) {
  return malist(['receive', '--config', dir, ...args], { input, env: { ...NO_ENVELOPE, ...env } });
}

const TOKEN = /confirm ([0-9a-f]{32}-[0-9a-f]{24})/;

describe('moderation through malist receive (queue → SMTP)', () => {
  let smtp: TestSmtpServer;
  let dir: string;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    dir = await mkdtemp(join(tmpdir(), 'malist-integration-'));
    await writeQueueConfig(dir, smtp.port);
    await writeFile(
      join(dir, 'lists', 'mod.yaml'),
      [
        'address: mod@list.example.com',
        'display_name: Moderated',
        'posting: moderated',
        'moderators: [carol@example.org]',
        'members: [alice@example.org, bob@example.net, dan@example.com]',
        'templates:',
        '  held_subject: "Waiting for a moderator: {subject}"',
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await smtp?.stop();
  });

  it('holds a post, mails the moderator a token; the reply releases it to every member once, a second reply only answers', async () => {
    const post = mail({
      From: 'Alice <alice@example.org>',
      To: 'mod@list.example.com',
      Subject: 'Agenda for Friday',
      'Message-ID': '<agenda-1@example.org>',
    });
    const held = await receive(dir, post, ['--list', 'mod']);
    expect(held.code, held.stderr).toBe(0);
    expect(await readdir(join(dir, 'state/held/mod'))).not.toEqual([]);
    expect(smtp.count('alice@example.org', 'agenda-1@example.org')).toBe(0);

    // The moderator's notice arrived with the token in its subject.
    await smtp.waitFor(() => smtp.accepted.some((m) => m.to.includes('carol@example.org')));
    const notice = smtp.accepted.find((m) => m.to.includes('carol@example.org'))!;
    const token = TOKEN.exec(notice.raw.toString())?.[1];
    expect(token).toBeDefined();
    expect(notice.raw.toString()).toMatch(/^Reply-To: .*mod-request@list\.example\.com/im);
    // The poster is told, in the list's own words (its templates:).
    await smtp.waitFor(() =>
      smtp.accepted.some(
        (m) =>
          m.to.includes('alice@example.org') &&
          /Subject: Waiting for a moderator: Agenda for Friday/.test(m.raw.toString()),
      ),
    );

    // The moderator replies to LIST-request@ (routed by To, no --list).
    const reply = (id: string) =>
      mail(
        {
          From: 'carol@example.org',
          To: 'mod-request@list.example.com',
          Subject: `Re: confirm ${token}`,
          'Message-ID': `<${id}@example.org>`,
        },
        'Approved, thanks.\n',
      );
    const toCarol = () => smtp.accepted.filter((m) => m.to.includes('carol@example.org')).length;
    const before = toCarol();
    const approved = await receive(dir, reply('approve-1'));
    expect(approved.code, approved.stderr).toBe(0);
    for (const member of ['alice@example.org', 'bob@example.net', 'dan@example.com'])
      expect(smtp.count(member, 'agenda-1@example.org'), member).toBe(1);
    expect(toCarol()).toBe(before + 1); // the results of her command
    expect(await readdir(join(dir, 'state/held/mod'))).toEqual(['done']);

    // The same answer again (a second mail): nothing more is released, she is told.
    const again = await receive(dir, reply('approve-2'));
    expect(again.code, again.stderr).toBe(0);
    for (const member of ['alice@example.org', 'bob@example.net', 'dan@example.com'])
      expect(smtp.count(member, 'agenda-1@example.org'), member).toBe(1);
    expect(toCarol()).toBe(before + 2);
    const answer = smtp.accepted.filter((m) => m.to.includes('carol@example.org')).at(-1)!;
    expect(answer.raw.toString()).toMatch(/unknown, used, expired[\s\S]*nothing was done/);
    expect(smtp.duplicates()).toEqual([]);
  }, 60_000);

  it('a recipient refused with 5xx at a later queue run counts as a bounce', async () => {
    smtp.clearRules();
    smtp.addRule({ stage: 'rcpt', recipient: 'dan@example.com', reply: { code: 451 } });
    const post = mail({
      From: 'Carol <carol@example.org>',
      To: 'mod@list.example.com',
      Subject: 'Approved in advance',
      'Message-ID': '<later-5xx@example.org>',
    });
    // Carol is a moderator, not a member: the post is held; approve it from the shell.
    expect((await receive(dir, post, ['--list', 'mod'])).code).toBe(0);
    const listing = await malist(['held', 'list', '--config', dir]);
    const id = /^([0-9a-f]{16})\s+mod\s.*Approved in advance/m.exec(listing.stdout)?.[1];
    expect(id, listing.stdout).toBeDefined();
    const approve = await malist(['held', 'approve', id!, '--config', dir]);
    expect(approve.code, approve.stderr).toBe(0);
    expect(smtp.count('alice@example.org', 'later-5xx@example.org')).toBe(1);
    expect(smtp.count('dan@example.com', 'later-5xx@example.org')).toBe(0);

    // Dan's server now refuses for good: the queue run gives up on him and scores a bounce.
    smtp.clearRules();
    smtp.addRule({ stage: 'rcpt', recipient: 'dan@example.com', reply: { code: 550 } });
    const retried = await malist(['queue', 'retry', '--config', dir]);
    expect(retried.code, retried.stderr).toBe(0);
    const bounces = JSON.parse(await readFile(join(dir, 'state/bounces/mod.json'), 'utf8'));
    expect(Object.keys(bounces)).toContain('dan@example.com');
  }, 60_000);
});

describe('membership and bounces through malist receive (maildir)', () => {
  async function inbox(dir: string, who: string): Promise<string[]> {
    const box = join(dir, 'out', who, 'new');
    const files = (await readdir(box).catch(() => [])).sort();
    return Promise.all(files.map((f) => readFile(join(box, f), 'utf8')));
  }

  it('subscribes by mail with a confirmation; the new member gets the next post and may post', async () => {
    const dir = await tempConfig();
    const asked = await receive(
      dir,
      mail({
        From: 'Dave <dave@example.com>',
        To: 'red-request@list.example.com',
        Subject: 'subscribe',
        'Message-ID': '<sub-1@example.com>',
      }),
    );
    expect(asked.code, asked.stderr).toBe(0);
    const confirmation = (await inbox(dir, 'dave@example.com')).find((m) => TOKEN.test(m));
    expect(confirmation).toBeDefined();
    const token = TOKEN.exec(confirmation!)![1];
    expect(await readFile(join(dir, 'lists/red.yaml'), 'utf8')).not.toContain('dave@example.com');

    // The reply, handed over for the list red: it goes to the request handler, not the posts.
    const confirmed = await receive(
      dir,
      mail({
        From: 'dave@example.com',
        To: 'red-request@list.example.com',
        Subject: `Re: confirm ${token}`,
        'Message-ID': '<sub-2@example.com>',
      }),
      ['--list', 'red'],
    );
    expect(confirmed.code, confirmed.stderr).toBe(0);
    expect(await readFile(join(dir, 'lists/red.yaml'), 'utf8')).toContain('dave@example.com');
    expect(await readdir(join(dir, 'state/held/red')).catch(() => [])).toEqual([]);

    const next = await receive(
      dir,
      mail({
        From: 'alice@example.org',
        To: 'red@list.example.com',
        Subject: 'First post after Dave joined',
        'Message-ID': '<after-join@example.org>',
      }),
      ['--list', 'red'],
    );
    expect(next.code, next.stderr).toBe(0);
    expect((await inbox(dir, 'dave@example.com')).filter((m) => /after-join/.test(m))).toHaveLength(
      1,
    );

    // red is members-only (non-members held): Dave, subscribed by mail, posts at once.
    const own = await receive(
      dir,
      mail({
        From: 'Dave <dave@example.com>',
        To: 'red@list.example.com',
        Subject: 'Hello from Dave',
        'Message-ID': '<dave-post@example.com>',
      }),
    );
    expect(own.code, own.stderr).toBe(0);
    expect(await readdir(join(dir, 'state/held/red')).catch(() => [])).toEqual([]);
    for (const member of ['alice@example.org', 'bob@example.net', 'carol@example.org'])
      expect(
        (await inbox(dir, member)).filter((m) => /dave-post@example\.com/.test(m)),
        member,
      ).toHaveLength(1);
  }, 60_000);

  it('a DSN to the VERP address of alice (with its cookie) counts; at the threshold a probe, whose bounce sets her to nomail', async () => {
    const dir = await tempConfig();
    const listFile = join(dir, 'lists/red.yaml');
    await writeFile(
      listFile,
      `${await readFile(listFile, 'utf8')}bounces:\n  threshold: 2\n  daily_cap: 2\n`,
    );
    // The installation secret `malist receive` will use (made on first use, kept).
    const secret = await loadSecret(join(dir, 'state'));
    const red = { name: 'red', address: 'red@list.example.com', members: [] };
    const verp = memberBounceAddress(red, secret, 'alice@example.org', Date.now());
    const dsn = (n: number | string, to = verp) =>
      hardBounce({ to, recipient: 'alice@example.org', n });
    // Without the cookie (the old form, or a forger's), nothing counts.
    const forged = await receive(
      dir,
      dsn('forged', 'red-bounces+alice=example.org@list.example.com'),
    );
    expect(forged.code, forged.stderr).toBe(0);
    expect(forged.stderr).toMatch(/not counted: a VERP address without a cookie/);
    // The MTA passes the VERP address as the envelope recipient.
    const first = await receive(dir, dsn(1), ['--recipient', verp]);
    expect(first.code, first.stderr).toBe(0);
    const state = JSON.parse(await readFile(join(dir, 'state/bounces/red.json'), 'utf8'));
    expect(state['alice@example.org']?.score).toBeGreaterThan(0);

    // The second hard bounce reaches the threshold of 2 (daily_cap 2: no clock games): a probe.
    const second = await receive(dir, dsn(2));
    expect(second.code, second.stderr).toBe(0);
    expect(await readFile(listFile, 'utf8')).not.toMatch(/nomail/);
    expect(
      (await inbox(dir, 'alice@example.org')).some((m) => /This message is a test/.test(m)),
    ).toBe(true);
    const probe = JSON.parse(await readFile(join(dir, 'state/bounces/red.json'), 'utf8'))[
      'alice@example.org'
    ].probe;
    const third = await receive(
      dir,
      dsn(3, probeBounceAddress(red, secret, 'alice@example.org', probe.nonce)),
    );
    expect(third.code, third.stderr).toBe(0);
    expect(await readFile(listFile, 'utf8')).toMatch(/alice@example\.org[\s\S]*nomail: true/);
    // `malist members list` shows the standing.
    const listed = await malist(['members', 'list', '--list', 'red', '--config', dir]);
    expect(listed.stdout).toMatch(
      /^alice@example\.org\tnomail \(bounce\)\tbounces=2 last=\d{4}-\d{2}-\d{2} reason="smtp; 550 5\.1\.1/m,
    );
  }, 60_000);
});

describe('malist check and the list options of membership, bounces and digests', () => {
  it('accepts them, and names file:line and the fix for a typo in one', async () => {
    const dir = await tempConfig();
    const listFile = join(dir, 'lists/red.yaml');
    const base = await readFile(listFile, 'utf8');
    const options = [
      'subscribe_policy: confirm-approve',
      'unsubscribe_policy: open',
      'confirm_hours: 24',
      'templates:',
      '  welcome: "Welcome to {list_name}!"',
      'bounces:',
      '  threshold: 3',
      '  daily_cap: 1',
      'digest:',
      '  format: plain',
      '  size_kb: 40',
      '',
    ];
    await writeFile(listFile, `${base}${options.join('\n')}`);
    const ok = await malist(['check', '--config', dir]);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);

    const typo = options.map((l) => l.replace('threshold', 'treshold'));
    await writeFile(listFile, `${base}${typo.join('\n')}`);
    const line = base.split('\n').length - 1 + typo.indexOf('  treshold: 3') + 1;
    const bad = await malist(['check', '--config', dir]);
    expect(bad.code).not.toBe(0);
    expect(bad.stdout + bad.stderr).toMatch(
      new RegExp(`lists/red\\.yaml:${line}:\\d+ bounces\\.treshold: unknown key.*threshold`),
    );

    const policy = options.map((l) => l.replace('confirm-approve', 'confrim'));
    await writeFile(listFile, `${base}${policy.join('\n')}`);
    const wrong = await malist(['check', '--config', dir]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stdout + wrong.stderr).toMatch(
      /lists\/red\.yaml:\d+:\d+ subscribe_policy: expected one of/,
    );
  }, 60_000);
});

describe('mail addressed to no list, held under _default', () => {
  it('shows in malist held list as (no list); approve hands it to the lists again, discard drops it', async () => {
    const dir = await inboxConfig();
    const stray = (n: number) =>
      mail({
        From: 'Erin <erin@example.com>',
        To: 'green@list.example.com',
        Subject: `For the green list ${n}`,
        'Message-ID': `<green-${n}@example.com>`,
      });
    await writeFile(join(dir, 'inbox/new/1.eml'), stray(1));
    await writeFile(join(dir, 'inbox/new/2.eml'), stray(2));
    const ran = await malist(['run', '--config', dir]);
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout).toMatch(/addressed to no list: 2 held/);

    const listed = await malist(['held', 'list', '--config', dir]);
    const ids = [
      ...listed.stdout.matchAll(/^([0-9a-f]{16})\s+\(no list\)\s.*For the green list (\d)/gm),
    ]
      .sort((a, b) => Number(a[2]) - Number(b[2]))
      .map((m) => m[1]!);
    expect(ids, listed.stdout).toHaveLength(2);

    // Rejecting needs a list to answer from: refused, nothing changes.
    const reject = await malist(['held', 'reject', ids[0]!, '--config', dir]);
    expect(reject.code).toBe(1);
    expect(reject.stderr).toMatch(/use discard/);

    // The operator adds the list; approving hands the post to it.
    await writeFile(
      join(dir, 'lists/green.yaml'),
      'address: green@list.example.com\nposting: open\nmembers: [frank@example.net]\n',
    );
    const approve = await malist(['held', 'approve', ids[0]!, '--config', dir]);
    expect(approve.code, approve.stderr).toBe(0);
    expect(approve.stdout).toMatch(
      /\(no list\): .*approved; handed to the lists again: green: distributed/,
    );
    const box = join(dir, 'out/frank@example.net/new');
    expect(await readdir(box)).toHaveLength(1);
    const again = await malist(['held', 'approve', ids[0]!, '--config', dir]);
    expect(again.code).toBe(1);
    expect(await readdir(box)).toHaveLength(1);

    const discard = await malist(['held', 'discard', ids[1]!, '--config', dir]);
    expect(discard.code, discard.stderr).toBe(0);
    expect((await malist(['held', 'list', '--config', dir])).stdout).not.toMatch(/no list/);
    expect(await readdir(box)).toHaveLength(1);
  }, 60_000);
});

describe('digests through malist receive', () => {
  it('a digest member gets a digest, not the post, once the size threshold is met', async () => {
    const dir = await tempConfig();
    const listFile = join(dir, 'lists/red.yaml');
    const text = (await readFile(listFile, 'utf8')).replace(
      '  - Bob Martin <bob@example.net>\n',
      '  - Bob Martin <bob@example.net>\n  - { address: dora@example.com, digest: true }\n',
    );
    await writeFile(listFile, `${text}digest:\n  format: plain\n  size_kb: 0.001\n`);
    const r = await receive(
      dir,
      mail({
        From: 'alice@example.org',
        To: 'red@list.example.com',
        Subject: 'Digest me',
        'Message-ID': '<digest-me@example.org>',
      }),
      ['--list', 'red'],
    );
    expect(r.code, r.stderr).toBe(0);
    const box = join(dir, 'out/dora@example.com/new');
    const got = await Promise.all((await readdir(box)).map((f) => readFile(join(box, f), 'utf8')));
    expect(got).toHaveLength(1);
    expect(got[0]).toMatch(/^Subject: .*[Dd]igest/m);
    expect(got[0]).toContain('Digest me');
    // The digest's own header, not the post's (which is inside, RFC 1153 style).
    const header = got[0]!.split(/\r?\n\r?\n/)[0]!;
    expect(header).toMatch(/^From: .*red-request@list\.example\.com/m);
    expect(header).not.toContain('digest-me@example.org');
  }, 60_000);
});
