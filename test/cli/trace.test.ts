/**
 * `malist trace` through the real CLI: one post to a list of four members over the durable
 * queue and a scripted SMTP server — alice delivered, bob deferred (451) then delivered at
 * the next queue run, carol refused (550, dead letter, bounce score), dave nomail — each
 * traced in text and in JSON; the archive's copy; a held post, and an unknown Message-ID.
 */
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-server.ts';
import { malist, post, ROOT } from './run-malist.ts';

const ID = '20261123091244.4711@mail.example.org';

/** Times and the archive's month vary from run to run; the rest must read the same. */
const steady = (text: string) =>
  text
    .replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ/g, 'TIME')
    .replace(/\d{4}-\d\d\.mbox/g, 'MONTH.mbox')
    // The test server numbers its transactions; the owners' dead-letter notice is one too.
    .replace(/queued as \d+/g, 'queued as N');
const HELD_ID = 'offer-88213@elsewhere.example';

describe('malist trace', { timeout: 120_000 }, () => {
  let server: TestSmtpServer;
  let dir: string;
  const trace = (member: string, ...more: string[]) =>
    malist(['trace', '--config', dir, '--list', 'red', '--member', member, ...more]);

  beforeAll(async () => {
    server = await startSmtpServer();
    dir = await mkdtemp(join(tmpdir(), 'malist-trace-'));
    await mkdir(join(dir, 'lists'));
    await writeFile(
      join(dir, 'malist.yaml'),
      `state_dir: state\ndistribute:\n  - { type: queue, server: out }\n  - { type: archive, dir: archive }\nservers:\n  out:\n    host: 127.0.0.1\n    port: ${server.port}\n    starttls: never\nqueue:\n  dir: spool\n`,
    );
    await writeFile(
      join(dir, 'lists/red.yaml'),
      [
        'address: red@list.example.com',
        'posting: members',
        'non_member_action: hold',
        'moderators: [carol@example.org]',
        'members:',
        '  - alice@example.org',
        '  - bob@example.net',
        '  - carol@example.org',
        '  - { address: dave@example.org, nomail: true }',
        '',
      ].join('\n'),
    );
    server.addRule({
      stage: 'rcpt',
      recipient: 'bob@example.net',
      reply: { code: 451, message: '4.7.1 greylisted, try later' },
      times: 1,
    });
    server.addRule({
      stage: 'rcpt',
      recipient: 'carol@example.org',
      reply: { code: 550, message: '5.1.1 no such user' },
      times: 1,
    });
    const received = await malist(['receive', '--config', dir, '--list', 'red'], {
      input: await readFile(post('01-member-post.eml')),
    });
    expect(received.code, received.stderr).toBe(0);
    // The next queue run delivers bob's copy (retry: now, whatever the backoff says).
    const retried = await malist(['queue', 'retry', '--config', dir]);
    expect(retried.code, retried.stderr).toBe(0);
    expect(server.count('bob@example.net', ID)).toBe(1);
    const held = await malist(['receive', '--config', dir, '--list', 'red'], {
      input: await readFile(post('03-non-member.eml')),
    });
    expect(held.code, held.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('delivered: the time and the 250, one try', async () => {
    const r = await trace('alice@example.org', '--message-id', `<${ID}>`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('alice@example.org on red: member');
    expect(r.stdout).toContain('"Meeting notes for Thursday"');
    expect(r.stdout).toMatch(/fetched from stdin/);
    expect(r.stdout).toMatch(/ {2}archived: \S+/);
    expect(steady(r.stdout)).toMatch(
      /alice@example\.org: DELIVERED \(1 try\)\n {4}TIME {2}delivered: 250 OK/,
    );
  });

  it("deferred, then delivered: the 451 and its time, then the 250, two tries (the README's example)", async () => {
    // README.md's example, run as it is written (in this configuration directory).
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const [, command, shown] = /^```console\n\$ malist (trace .*)\n([\s\S]*?)^```$/m.exec(readme)!;
    const r = await malist([...command!.split(' '), '--config', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(steady(r.stdout)).toBe(steady(shown!));
    expect(r.stdout).toMatch(
      /bob@example\.net: DELIVERED \(2 tries\)\n {4}\S+ \S+ {2}deferred: 451 4\.7\.1 greylisted, try later\n {4}\S+ \S+ {2}delivered: 250 /,
    );
    const json = JSON.parse((await trace('bob@example.net', '--message-id', ID, '--json')).stdout);
    const member = json.posts[0].member;
    expect(member.verdict).toBe('delivered');
    expect(member.tries).toBe(2);
    expect(member.answers.map((a: { kind: string; code: number }) => [a.kind, a.code])).toEqual([
      ['deferred', 451],
      ['final', 250],
    ]);
    expect(Date.parse(member.answers[0].at)).toBeLessThanOrEqual(Date.parse(member.answers[1].at));
  });

  it('refused: the 550, the dead letter and the bounce score', async () => {
    const r = await trace('carol@example.org', '--message-id', ID);
    expect(r.code, r.stderr).toBe(0);
    expect(steady(r.stdout)).toMatch(
      /carol@example\.org: REFUSED \(1 try\)\n {4}TIME {2}refused: 550 5\.1\.1 no such user\n {4}dead letter: /,
    );
    expect(r.stdout).toContain(join(dir, 'spool', 'dead'));
    expect(r.stdout).toMatch(/bounce score 1 \(1 counted/);
    const json = JSON.parse(
      (await trace('carol@example.org', '--message-id', ID, '--json')).stdout,
    );
    expect(json.bounce.score).toBe(1);
    expect(json.posts[0].member).toMatchObject({ verdict: 'refused', tries: 1 });
    expect(json.posts[0].member.dead_letter).toContain(join(dir, 'spool', 'dead'));
    expect(json.posts[0].member.answers).toMatchObject([{ kind: 'final', code: 550 }]);
  });

  it('nomail: not a recipient, and why', async () => {
    const r = await trace('dave@example.org', '--message-id', ID);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('dave@example.org on red: member (nomail)');
    expect(r.stdout).toContain('dave@example.org: NOT A RECIPIENT: nomail is on');
    const json = JSON.parse((await trace('dave@example.org', '--message-id', ID, '--json')).stdout);
    expect(json.membership.options).toEqual(['nomail']);
    expect(json.posts[0].member.verdict).toBe('not-a-recipient');
  });

  it('a held post: not sent, held for a moderator and why; listed among the last posts', async () => {
    const r = await trace('alice@example.org', '--message-id', HELD_ID);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ held: .*\(unit [a-z-]+\)/);
    expect(r.stdout).toContain(
      'alice@example.org: NOT SENT: the post is held for a moderator since',
    );
    const json = JSON.parse((await trace('alice@example.org', '--json')).stdout);
    expect(json.posts.map((p: { message_id: string }) => p.message_id)).toEqual([ID, HELD_ID]);
    expect(json.posts.map((p: { member: { verdict: string } }) => p.member.verdict)).toEqual([
      'delivered',
      'not-sent',
    ]);
    const recent = JSON.parse((await trace('alice@example.org', '--since', '1d', '--json')).stdout);
    expect(recent.posts).toHaveLength(2);
  });

  it('an unknown Message-ID: exit 66 and says where it looked; bad usage: exit 64', async () => {
    const r = await trace('alice@example.org', '--message-id', '<nobody@nowhere.example>');
    expect(r.code).toBe(66);
    expect(r.stderr).toContain(
      'no post with Message-ID <nobody@nowhere.example> on red in the journal, the held posts or the queue',
    );
    expect(r.stdout).toContain('no posts found');
    const bad = await trace('alice@example.org', '--since', 'yesterday-ish');
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('--since yesterday-ish: expected an age');
    const noMember = await malist(['trace', '--config', dir, '--list', 'red']);
    expect(noMember.code).toBe(64);
    expect(noMember.stderr).toContain('--member ADDRESS is required');
  });
});
