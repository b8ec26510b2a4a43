/**
 * The operator is told the truth (issue 17), through the real CLI against the fault SMTP
 * server: a wrong SMTP password is "0 delivered, 4 queued (535 …)", exit 1 and one stderr
 * line; a server that is down is "queued", exit 0 — until the queue's `alert_after`; an
 * idle `--quiet` run prints nothing; `--json` is one document; `send-test` exits 0 only on
 * a 250; two runners that each make a dead letter send the list owner one notice.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-server.ts';
import { malist, post, tempConfig } from './run-malist.ts';

const MESSAGE_ID = '20261123091244.4711@mail.example.org';

function config(port: number, extra = ''): string {
  return (
    'state_dir: state\nfetch:\n  - type: maildir\n    dir: inbox\ndistribute:\n  type: queue\n' +
    `  server: out\nservers:\n  out:\n    host: 127.0.0.1\n    port: ${port}\n    starttls: never\n` +
    `${extra}queue:\n  dir: spool\n  retry: { initial_seconds: 0.001 }\n` +
    'delivery_log: delivery.log\nreactors: []\n'
  );
}

async function withPost(dir: string, name = '01-member-post.eml'): Promise<void> {
  await mkdir(join(dir, 'inbox/new'), { recursive: true });
  await writeFile(join(dir, 'inbox/new', name), await readFile(post(name)));
}

describe('malist run tells the truth', () => {
  let server: TestSmtpServer;
  beforeAll(async () => {
    server = await startSmtpServer({ auth: { user: 'lists', pass: 'right' } });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('a wrong SMTP password: nothing delivered, 4 queued with the 535, exit 1 in one line; the log counts them', async () => {
    const dir = await tempConfig(config(server.port, '    user: lists\n    password_env: PW\n'));
    await withPost(dir);
    const wrong = { env: { PW: 'wrong' } };
    const r = await malist(['run', '--config', dir], wrong);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /^red \(red@list\.example\.com\): 1 post — 0 delivered, 4 queued \(authentication failed: 535 .*\)$/m,
    );
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^malist run: needs attention \(exit 1\): red: nothing delivered: the SMTP server refused the login \(.*535.*\)/,
      ),
    ]);
    const log = await readFile(join(dir, 'delivery.log'), 'utf8');
    expect(log).toMatch(
      new RegExp(
        `^\\S+Z list=red outcome=distributed recipients=4 refused=0 deferred=4 delivered=0 queued=4 message-id=<${MESSAGE_ID.replace(/\./g, '\\.')}> reply="authentication failed: 535 [^"]*"\\n$`,
      ),
    );
    expect(server.accepted).toHaveLength(0);

    const json = await malist(['run', '--json', '--config', dir], wrong);
    expect(json.code).toBe(1);
    const doc = JSON.parse(json.stdout);
    expect(doc.exit).toBe(1);
    expect(doc.lists.find((l: { name: string }) => l.name === 'red')).toMatchObject({
      posts: 0,
      delivered: 0,
      queued: 4,
      retried: 4,
      problem: 'EAUTH',
      attention: expect.stringContaining('refused the login'),
    });

    const test = await malist(
      ['send-test', '--config', dir, '--list', 'red', '--to', 'ops@example.com'],
      wrong,
    );
    expect(test.code).toBe(1);
    expect(test.stdout).toMatch(/^ops@example\.com: queued via queue — server said: .*535/);

    // Fixed: the queue delivers, the run is quiet and exits 0.
    const fixed = await malist(['run', '--quiet', '--config', dir], { env: { PW: 'right' } });
    expect(fixed.stderr).toBe('');
    expect(fixed.code).toBe(0);
    expect(fixed.stdout).toBe('');
    expect(server.count('alice@example.org', MESSAGE_ID)).toBe(1);
  });

  it('a server down: queued, exit 0; past alert_after: exit 1; send-test 75', async () => {
    const down = await startSmtpServer();
    const port = down.port;
    await down.stop();
    const dir = await tempConfig(config(port).replace('queue:\n', 'queue:\n  alert_after: 2s\n'));
    await withPost(dir);
    const r = await malist(['run', '--config', dir]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^red \(red@list\.example\.com\): 1 post — 0 delivered, 4 queued \(connecting to 127\.0\.0\.1:\d+ failed: .*ECONNREFUSED.*\)$/m,
    );
    const test = await malist([
      'send-test',
      '--config',
      dir,
      '--list',
      'red',
      '--to',
      'ops@example.com',
    ]);
    expect(test.code).toBe(75);

    // The entry is older than alert_after (2 s) once the next run looks.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const late = await malist(['run', '--quiet', '--config', dir]);
    expect(late.code).toBe(1);
    expect(late.stdout).toMatch(/^red \(red@list\.example\.com\): /);
    expect(late.stderr).toMatch(
      /^malist run: needs attention \(exit 1\): red: \d recipients queued for more than 2s \(last: connecting to .*\)\n$/,
    );
  });

  it('an idle --quiet run (the shipped crontab) prints nothing at all', async () => {
    const dir = await tempConfig(config(server.port));
    await mkdir(join(dir, 'inbox/new'), { recursive: true });
    const r = await malist(['run', '--quiet', '--config', dir]);
    expect(r).toMatchObject({ code: 0, stdout: '', stderr: '' });
    const loud = await malist(['run', '--config', dir]);
    expect(loud.stdout).toContain('red (red@list.example.com): nothing new');
    const cron = await readFile(join(import.meta.dirname, '../../examples/crontab'), 'utf8');
    expect(cron).toMatch(/^\*\/5 .* malist run .*--quiet$/m);
  });

  it('two runners that each make a dead letter: the list owner gets one notice for the period', async () => {
    const open = await startSmtpServer();
    try {
      open.addRule({
        stage: 'rcpt',
        recipient: 'bob@example.net',
        reply: { code: 550, message: '5.1.1 no such user' },
      });
      const dir = await tempConfig(config(open.port).replace(/fetch:\n.*\n.*\n/, ''));
      const receive = async (name: string) =>
        malist(['receive', '--config', dir, '--list', 'red'], {
          input: await readFile(post(name)),
        });
      const [a, b] = await Promise.all([receive('01-member-post.eml'), receive('02-reply.eml')]);
      expect([a.code, b.code]).toEqual([0, 0]);
      const notices = open.accepted.filter((m) => m.to.includes('red-owner@list.example.com'));
      expect(notices).toHaveLength(1);
      const notice = await simpleParser(notices[0]!.raw);
      expect(notice.subject).toMatch(/^\d undeliverable on red@list\.example\.com$/);
      expect(notice.text).toContain('bob@example.net: refused — 550 5.1.1 no such user');
      expect(notice.headers.get('auto-submitted')).toBe('auto-generated');
      // The period's bookkeeping: a dead letter the notice did not include waits for the next.
      const waiting = await readdir(join(dir, 'state/notices/dead-letters'));
      expect(waiting).toContain('red.json');
      const run = await malist(['run', '--config', dir]);
      expect(run.code).toBe(0);
      expect(open.accepted.filter((m) => m.to.includes('red-owner@list.example.com'))).toHaveLength(
        1,
      );
    } finally {
      await open.stop();
    }
  });
});
