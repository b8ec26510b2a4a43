/**
 * `malist lmtp` behind a real Postfix, configured with the README's lines: the list domain is a
 * virtual domain whose transport is `lmtp:inet:127.0.0.1:PORT`. A post Postfix takes over
 * SMTP reaches the members (an SMTP sink, through malist's durable queue); an address no
 * list has gets 550 5.1.1 back and Postfix bounces it; while the state directory is unusable
 * (a file where it should be: root cannot write in it either) Postfix gets 451 4.3.0 and
 * keeps the mail, and once it is fixed a flush delivers it, to each member once.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTransport } from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningLmtp, startLmtpCli } from '../cli/lmtp-intake.ts';
import { post, ROOT, tempConfig } from '../cli/run-malist.ts';
import { type Postfix, postfixAvailable, startPostfix } from '../helpers/postfix.ts';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-server.ts';

const run = promisify(execFile);
const available = postfixAvailable();

/** A config distributing through the durable queue to the sink. */
function queueTo(sink: TestSmtpServer, state = 'state'): string {
  return `state_dir: ${state}\ndistribute:\n  type: queue\n  server: out\nservers:\n  out:\n    host: 127.0.0.1\n    port: ${sink.port}\n    starttls: never\nqueue:\n  dir: spool\ndelivery_log: delivery.log\nreactors: [stderr-logger]\n`;
}

/**
 * The README's Postfix lines for the LMTP intake (its `conf` block), with this test's port
 * and addresses map, and the second virtual domain this test adds for the broken intake.
 */
async function readmeMainCf(port: number, addresses: string): Promise<string> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### LMTP intake'));
  const block = /```conf\n([\s\S]*?)```/.exec(section)![1]!;
  expect(block).toContain('virtual_transport = lmtp:inet:127.0.0.1:2424');
  return block
    .replace('127.0.0.1:2424', `127.0.0.1:${port}`)
    .replace('/etc/postfix/malist-addresses', addresses)
    .replace(/^(virtual_mailbox_domains = .*)$/m, '$1 broken.example.test');
}

async function poll(what: string, check: () => Promise<boolean> | boolean, ms = 90_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe.skipIf(!available)('malist lmtp behind a real Postfix (lmtp: transport)', () => {
  let sink: TestSmtpServer;
  let good: RunningLmtp;
  let broken: RunningLmtp;
  let brokenDir: string;
  let postfix: Postfix;

  beforeAll(async () => {
    sink = await startSmtpServer();
    good = await startLmtpCli(['--config', await tempConfig(queueTo(sink))]);
    brokenDir = await tempConfig(queueTo(sink));
    // A file where the state directory should be.
    await writeFile(join(brokenDir, 'state'), 'not a directory\n');
    broken = await startLmtpCli(['--config', brokenDir]);
    // broken.example.test goes to the second intake; its `red` is found by the local part.
    const maps = await mkdtemp(join(tmpdir(), 'malist-lmtp-maps-'));
    const transport = join(maps, 'transport');
    await writeFile(transport, `broken.example.test lmtp:inet:127.0.0.1:${broken.port}\n`);
    const past = new Date(Date.now() - 5_000);
    await utimes(transport, past, past);
    const addresses = join(maps, 'malist-addresses');
    await writeFile(
      addresses,
      ['red@list.example.com', 'nolist@list.example.com', 'red@broken.example.test']
        .map((a) => `${a} ok\n`)
        .join(''),
    );
    await utimes(addresses, past, past);
    postfix = await startPostfix({
      lmtpPort: good.port,
      mailboxes: [],
      // The README's lines (they come last in main.cf, so they are the ones that count).
      extraMain: `${await readmeMainCf(good.port, addresses)}\ntransport_maps = texthash:${transport}`,
    });
  }, 180_000);

  afterAll(async () => {
    await postfix?.stop();
    await good?.stop();
    await broken?.stop();
    await sink?.stop();
  }, 180_000);

  async function submit(to: string, raw: Buffer | string): Promise<void> {
    const smtp = createTransport({ host: '127.0.0.1', port: postfix.port, ignoreTLS: true });
    try {
      await smtp.sendMail({ envelope: { from: 'alice@example.org', to: [to] }, raw });
    } finally {
      smtp.close();
    }
  }

  it('a post Postfix takes reaches every member, once', async () => {
    await submit('red@list.example.com', await readFile(post('01-member-post.eml')));
    const id = '20261123091244.4711@mail.example.org';
    const members = ['alice@example.org', 'archive@list.example.com', 'bob@example.net'];
    await poll('the post at the sink', () =>
      [...members, 'carol@example.org'].every((m) => sink.count(m, id) === 1),
    );
    expect(sink.duplicates()).toEqual([]);
    await poll('the LMTP reply in the Postfix log', async () =>
      /to=<red@list\.example\.com>.*status=sent/.test(await postfix.log()),
    );
    expect(await postfix.log()).toMatch(
      /to=<red@list\.example\.com>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+.*status=sent \(250 2\.6\.0/,
    );
  }, 180_000);

  it('an address no list has: 550 5.1.1 back to Postfix, which bounces it', async () => {
    await submit(
      'nolist@list.example.com',
      'From: alice@example.org\nTo: nolist@list.example.com\nSubject: hello\nMessage-ID: <nolist-1@example.org>\n\nhi\n',
    );
    await poll('the bounce in the Postfix log', async () =>
      /to=<nolist@list\.example\.com>.*status=bounced/.test(await postfix.log()),
    );
    expect(await postfix.log()).toMatch(
      /to=<nolist@list\.example\.com>.*status=bounced \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: 550 5\.1\.1 no list has the address nolist@list\.example\.com/,
    );
  }, 180_000);

  it('the state directory unusable: 451 4.3.0, Postfix keeps the mail; fixed, a flush delivers it once', async () => {
    const raw = (await readFile(post('01-member-post.eml'), 'utf8')).replace(
      '20261123091244.4711@mail.example.org',
      'deferred-1@mail.example.org',
    );
    await submit('red@broken.example.test', raw);
    await poll('the deferral in the Postfix log', async () =>
      /to=<red@broken\.example\.test>.*status=deferred/.test(await postfix.log()),
    );
    expect(await postfix.log()).toMatch(
      /to=<red@broken\.example\.test>.*status=deferred \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: 451 4\.3\.0 /,
    );
    expect(sink.count('bob@example.net', 'deferred-1@mail.example.org')).toBe(0);
    // The operator fixes the state directory; Postfix retries (a flush, not 10 s of backoff).
    await rm(join(brokenDir, 'state'));
    await mkdir(join(brokenDir, 'state'));
    await poll('the retried post at the sink', async () => {
      await run('/usr/sbin/postqueue', ['-c', join(postfix.dir, 'conf'), '-f']).catch(() => {});
      return sink.count('bob@example.net', 'deferred-1@mail.example.org') === 1;
    });
    await poll(
      'every member',
      () => sink.count('carol@example.org', 'deferred-1@mail.example.org') === 1,
    );
    expect(sink.duplicates()).toEqual([]);
  }, 180_000);
});
