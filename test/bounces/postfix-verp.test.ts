/**
 * Acceptance, on the real stack: `malist run` reads the list's mailboxes over IMAP from a
 * real Dovecot and sends through the queue into a real Postfix, which delivers over LMTP
 * into that Dovecot. ghost@ is a member whose mailbox does not exist: Postfix takes the
 * post, Dovecot refuses it, and Postfix mails its DSN to ghost's VERP address (with the
 * cookie), which lands in the list's bounce mailbox. malist scores it, probes ghost at the
 * threshold (the probe bounces the same way), then sets ghost to nomail and tells the owner
 * with the evidence. A forged DSN (no cookie, a made-up Message-ID) and a forged VERP
 * address (a wrong cookie) change nothing.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { malist } from '../cli/run-malist.ts';
import { type Dovecot, dovecotAvailable, startDovecot } from '../helpers/dovecot.ts';
import { hardBounce } from '../helpers/dsn.ts';
import { type Postfix, postfixAvailable, startPostfix } from '../helpers/postfix.ts';
import { tempDir } from '../queue/helpers.ts';

const available = postfixAvailable() && dovecotAvailable();
const DOMAIN = 'example.test';
const VERP_OF_GHOST = /red-bounces\+ghost=example\.test\+[a-z2-7]{10}@example\.test/i;

describe.skipIf(!available)('bounces on the real stack: Postfix DSNs to VERP addresses', () => {
  let dovecot: Dovecot;
  let postfix: Postfix;
  let work: Awaited<ReturnType<typeof tempDir>>;
  let config: string;
  const env = { MAILBOX_PASSWORD: 'secret' };

  beforeAll(async () => {
    // ghost has no mailbox in Dovecot, but Postfix takes mail for it (it is in Postfix's map).
    dovecot = await startDovecot({ users: ['alice', 'red', 'red-bounces'] });
    postfix = await startPostfix({
      lmtpPort: dovecot.ports.lmtp,
      mailboxes: [...dovecot.users, `ghost@${DOMAIN}`],
    });
    work = await tempDir('malist-verp-e2e-');
    config = work.dir;
    await mkdir(join(config, 'lists'), { recursive: true });
    const imap = (user: string) =>
      `  - { type: imap, host: 127.0.0.1, port: ${dovecot.ports.imaps}, tls: implicit, ca_file: ${dovecot.caFile}, user: ${user}@${DOMAIN}, password_env: MAILBOX_PASSWORD }`;
    await writeFile(
      join(config, 'malist.yaml'),
      [
        'state_dir: state',
        'fetch:',
        imap('red'),
        imap('red-bounces'),
        'distribute:',
        '  type: queue',
        '  dir: spool',
        `  smtp: { host: 127.0.0.1, port: ${postfix.port}, starttls: never }`,
        'reactors: [stderr-logger]',
        '',
      ].join('\n'),
    );
    await writeFile(
      join(config, 'lists/red.yaml'),
      [
        `address: red@${DOMAIN}`,
        'display_name: Red',
        'posting: open',
        `moderators: [alice@${DOMAIN}]`,
        'members:',
        `  - alice@${DOMAIN}`,
        `  - ghost@${DOMAIN}`,
        'bounces: { threshold: 2, daily_cap: 2 }',
        '',
      ].join('\n'),
    );
  }, 120_000);

  afterAll(async () => {
    await postfix?.stop();
    await dovecot?.stop();
    await work?.remove();
  });

  async function run(): Promise<string> {
    const ran = await malist(['run', '--config', config], { env, timeoutMs: 120_000 });
    expect(ran.code, `${ran.stdout}\n${ran.stderr}`).toBe(0);
    return ran.stderr;
  }

  /**
   * Runs `malist run` until `done()` holds, bounded (generous) — Postfix's DSNs arrive when
   * they arrive, within a run or between two. Returns the runs' stderr.
   */
  async function runUntil(done: () => Promise<boolean>, what: string): Promise<string> {
    const deadline = Date.now() + 180_000;
    let stderr = '';
    for (;;) {
      stderr += await run();
      if (await done()) return stderr;
      if (Date.now() > deadline)
        throw new Error(`${what}: not within 180 s\n${stderr}\n${await postfix.log()}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  const yaml = () => readFile(join(config, 'lists/red.yaml'), 'utf8');
  const inbox = async (user: string) => (await dovecot.messages(user)).map((m) => m.raw.toString());

  const post = (n: number) =>
    `From: alice@${DOMAIN}\r\nTo: red@${DOMAIN}\r\nSubject: post ${n}\r\nMessage-ID: <post-${n}@${DOMAIN}>\r\nDate: ${new Date().toUTCString()}\r\n\r\nHello list ${n}.\r\n`;

  const ghostRecord = async () =>
    JSON.parse(await readFile(join(config, 'state/bounces/red.json'), 'utf8').catch(() => '{}'))[
      `ghost@${DOMAIN}`
    ];

  it('a missing mailbox is bounced to its VERP address, scored, probed, then set to nomail with notices', async () => {
    // Two posts: Postfix bounces ghost's copy of each to ghost's VERP address, and malist
    // takes the DSN from the bounce mailbox and scores it.
    for (const n of [1, 2]) {
      await dovecot.deliver('red', post(n));
      const log = await runUntil(async () => (await ghostRecord())?.count === n, `bounce ${n}`);
      // The first is scored; the second reaches the threshold and sends the probe instead.
      if (n === 1) expect(log).toMatch(/bounce recorded \(ghost@example\.test hard\)/);
    }
    // The second bounce reached the threshold: a probe went out, with its own cookie; ghost
    // is not on nomail until it bounces too.
    const probe = (await ghostRecord()).probe;
    expect(probe).toBeDefined();
    // The probe's DSN comes back the same way; the next run sets ghost to nomail.
    await runUntil(
      async () => /ghost@example\.test[\s\S]*nomail: true/.test(await yaml()),
      'nomail',
    );
    expect((await ghostRecord()).evidence.at(-1)).toMatchObject({ probe: true, source: 'verp' });
    const owner = (await inbox('alice')).find((m) => /set to nomail on Red/.test(m));
    expect(owner).toMatch(/VERP cookie/);
    // Every DSN that came back was to ghost's VERP address with a cookie.
    const listed = await malist(['members', 'list', '--list', 'red', '--config', config], { env });
    expect(listed.stdout).toMatch(/^ghost@example\.test\tnomail \(bounce\)\tbounces=\d/m);
    expect(await postfix.log()).toMatch(VERP_OF_GHOST);
  }, 600_000);

  it('a forged DSN and a forged VERP address change nothing', async () => {
    const before = await yaml();
    const forged = [
      // No cookie: the old VERP form a forger can write for any member.
      hardBounce({
        to: `red-bounces+alice=${DOMAIN}@${DOMAIN}`,
        recipient: `alice@${DOMAIN}`,
        n: 'f1',
      }),
      // A cookie, but not one this list made.
      hardBounce({
        to: `red-bounces+alice=${DOMAIN}+aaaaaaaaaa@${DOMAIN}`,
        recipient: `alice@${DOMAIN}`,
        n: 'f2',
      }),
      // The plain bounce address, naming a Message-ID the list never sent to alice.
      hardBounce({
        to: `red-bounces@${DOMAIN}`,
        recipient: `alice@${DOMAIN}`,
        n: 'f3',
        returned: `<made-up@${DOMAIN}>`,
      }),
    ];
    for (const [i, dsn] of forged.entries())
      for (let copy = 0; copy < 3; copy++)
        await dovecot.deliver('red-bounces', dsn.replace('Subject: ', `Subject: ${i}.${copy} `));
    const stderr = await run();
    expect(stderr).toMatch(/not counted: a VERP address without a cookie/);
    expect(stderr).toMatch(/not counted: a VERP cookie that is wrong or expired/);
    expect(stderr).toMatch(/no Message-ID this list sent them/);
    expect(await yaml()).toBe(before);
    const records = JSON.parse(await readFile(join(config, 'state/bounces/red.json'), 'utf8'));
    expect(records[`alice@${DOMAIN}`]).toBeUndefined();
  }, 300_000);
});
