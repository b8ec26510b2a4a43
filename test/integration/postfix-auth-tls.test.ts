/**
 * The operator's truth against a real Postfix (issue 17), through the real CLI: Postfix
 * offers STARTTLS with a certificate from a private test CA and SMTP AUTH through Dovecot's
 * auth service (`smtpd_sasl_type = dovecot`, the Dovecot helper's passwd-file), and delivers
 * the list's domains into Dovecot's maildirs over LMTP — so "delivered" is counted in the
 * members' mailboxes, not taken from malist's word.
 *
 * - A wrong password: `malist run` exits 1 with one stderr line (the login refused, Postfix's
 *   535), the summary and `delivery.log` say 0 delivered / 4 queued and the reply, and the four
 *   copies stay in the queue; `send-test` exits 1. The right password: the next run delivers
 *   each member one copy, exit 0; `send-test` exits 0 on Postfix's 250.
 * - A CA the list does not trust: exit 1, the summary names the TLS failure and `ca_file`;
 *   with `ca_file` (relative to the YAML file) naming the test CA the queue delivers.
 */
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { malist, post, tempConfig } from '../cli/run-malist.ts';
import { type Dovecot, dovecotAvailable, startDovecot } from '../helpers/dovecot.ts';
import { type Postfix, postfixAvailable, startPostfix } from '../helpers/postfix.ts';
import { makeTestCa, type TestCa } from '../helpers/test-ca.ts';

const available = dovecotAvailable() && postfixAvailable();

const MESSAGE_ID = '20261123091244.4711@mail.example.org';
/** The red list's recipients of 01-member-post.eml (its members and `deliver_to`). */
const RECIPIENTS = [
  'alice@example.org',
  'bob@example.net',
  'carol@example.org',
  'archive@list.example.com',
];
/** The SMTP AUTH login Postfix checks against Dovecot's passwd-file. */
const LOGIN = 'lists@example.test';
const PASSWORD = 'right-horse-battery';

async function poll(what: string, check: () => Promise<boolean> | boolean, ms = 90_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe.skipIf(!available)('malist against a real Postfix with STARTTLS and SMTP AUTH', () => {
  let dovecot: Dovecot;
  let postfix: Postfix;
  let tls: string;
  let ca: TestCa;

  beforeAll(async () => {
    tls = await mkdtemp(join(tmpdir(), 'malist-test-ca-'));
    await chmod(tls, 0o755);
    ca = makeTestCa(tls);
    dovecot = await startDovecot({
      users: [...RECIPIENTS, { user: LOGIN, password: PASSWORD }],
      authSocket: true,
    });
    postfix = await startPostfix({
      lmtpPort: dovecot.ports.lmtp,
      mailboxes: RECIPIENTS,
      tls: { certFile: ca.certFile, keyFile: ca.keyFile },
      saslPath: dovecot.authSocket!,
      extraMain: 'virtual_mailbox_domains = example.org example.net list.example.com',
    });
  }, 180_000);

  afterAll(async () => {
    await postfix?.stop();
    await dovecot?.stop();
    if (tls) await rm(tls, { recursive: true, force: true });
  }, 120_000);

  /** Copies of the post with `id` in `address`'s INBOX. */
  async function copies(address: string, id = MESSAGE_ID): Promise<number> {
    const found = await dovecot.messages(address);
    return found.filter((m) => m.raw.toString('latin1').includes(`<${id}>`)).length;
  }

  /**
   * A config dir: the post in a maildir source, the queue to Postfix with STARTTLS and
   * `server` lines (the CA, the login) as given.
   */
  async function configDir(server: string, raw?: string): Promise<string> {
    const dir = await tempConfig(
      'state_dir: state\nfetch:\n  - type: maildir\n    dir: inbox\ndistribute:\n  type: queue\n' +
        `  server: out\nservers:\n  out:\n    host: 127.0.0.1\n    port: ${postfix.port}\n` +
        `    tls: starttls\n${server}queue:\n  dir: spool\n  retry: { initial_seconds: 0.001 }\n` +
        'delivery_log: delivery.log\nreactors: []\n',
    );
    await mkdir(join(dir, 'inbox/new'), { recursive: true });
    await writeFile(
      join(dir, 'inbox/new/01.eml'),
      raw ?? (await readFile(post('01-member-post.eml'))),
    );
    return dir;
  }

  async function queued(
    dir: string,
    env: NodeJS.ProcessEnv = {},
  ): Promise<{ pending: number; state: string }[]> {
    const r = await malist(['queue', 'list', '--json', '--config', dir], { env });
    expect(r.stderr).toBe('');
    return JSON.parse(r.stdout).entries;
  }

  it('a wrong password: 535, exit 1 in one line, 4 queued and logged, nothing lost; the right one: delivered once each', async () => {
    const dir = await configDir(
      `    ca_file: ca/test-ca.pem\n    user: ${LOGIN}\n    password_file: smtp.pw\n`,
    );
    await mkdir(join(dir, 'ca'));
    await writeFile(join(dir, 'ca/test-ca.pem'), await readFile(ca.caFile));
    await writeFile(join(dir, 'smtp.pw'), 'not-the-password\n', { mode: 0o600 });

    const r = await malist(['run', '--config', dir]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(
      /^red \(red@list\.example\.com\): 1 post — 0 delivered, 4 queued \(authentication failed: 535 5\.7\.8 .*\)$/m,
    );
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^malist run: needs attention \(exit 1\): red: nothing delivered: the SMTP server refused the login \(.*535 5\.7\.8.*\)/,
      ),
    ]);
    const log = await readFile(join(dir, 'delivery.log'), 'utf8');
    expect(log).toMatch(
      /^\S+Z list=red outcome=distributed recipients=4 refused=0 deferred=4 delivered=0 queued=4 message-id=<20261123091244\.4711@mail\.example\.org> reply="authentication failed: 535 5\.7\.8 [^"]*"\n$/,
    );
    // Nothing lost: one entry, its four copies pending, none dead.
    expect(await queued(dir)).toEqual([expect.objectContaining({ state: 'waiting', pending: 4 })]);
    // Postfix saw the refused login and took no mail.
    await poll('the refused login in the Postfix log', async () =>
      /authentication failed/.test(await postfix.log()),
    );
    for (const to of RECIPIENTS) expect(await copies(to)).toBe(0);

    const wrongTest = await malist([
      'send-test',
      '--config',
      dir,
      '--list',
      'red',
      '--to',
      'alice@example.org',
    ]);
    expect(wrongTest.code).toBe(1);
    expect(wrongTest.stdout).toMatch(/^alice@example\.org: queued via queue — server said: .*535/);

    // The operator fixes the password file: the queue delivers, each member once, quietly.
    await writeFile(join(dir, 'smtp.pw'), `${PASSWORD}\n`, { mode: 0o600 });
    const fixed = await malist(['run', '--quiet', '--config', dir]);
    expect(fixed.stderr).toBe('');
    expect(fixed.code).toBe(0);
    expect(fixed.stdout).toBe('');
    await poll('a copy in every mailbox', async () => {
      for (const to of RECIPIENTS) if ((await copies(to)) < 1) return false;
      return true;
    });
    for (const to of RECIPIENTS) expect(await copies(to)).toBe(1);
    expect(await queued(dir)).toEqual([]);

    const rightTest = await malist([
      'send-test',
      '--config',
      dir,
      '--list',
      'red',
      '--to',
      'bob@example.net',
    ]);
    expect(rightTest.stderr).toBe('');
    expect(rightTest.code).toBe(0);
    expect(rightTest.stdout).toMatch(/^bob@example\.net: delivered via queue — server said: 250\b/);
    await poll('the send-test message at bob', async () => {
      const found = await dovecot.messages('bob@example.net');
      return found.some((m) => m.raw.toString().includes('Subject: malist send-test for red'));
    });
  }, 180_000);

  it('a CA the list does not trust: exit 1, the summary names TLS and ca_file; with ca_file: delivered', async () => {
    const id = 'untrusted-ca-1@mail.example.org';
    const raw = (await readFile(post('01-member-post.eml'), 'utf8')).replace(MESSAGE_ID, id);
    const login = `    user: ${LOGIN}\n    password_env: SMTP_PW\n`;
    const dir = await configDir(login, raw);
    const env = { env: { SMTP_PW: PASSWORD } };

    const r = await malist(['run', '--config', dir], env);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^red \(red@list\.example\.com\): 1 post — 0 delivered, 4 queued \(/m);
    expect(r.stdout).toMatch(
      /4 queued \(the TLS handshake failed: the server's certificate is signed by an unknown CA/,
    );
    const [line, ...more] = r.stderr.trim().split('\n');
    expect(more).toEqual([]);
    expect(line).toMatch(/^malist run: needs attention \(exit 1\): red: nothing delivered: /);
    expect(line).toMatch(
      /TLS with the SMTP server failed \(the TLS handshake failed: the server's certificate is signed by an unknown CA \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\): name the CA that signed it in `ca_file` \(a PEM file\)/,
    );
    expect(await queued(dir, env.env)).toEqual([
      expect.objectContaining({ state: 'waiting', pending: 4 }),
    ]);
    for (const to of RECIPIENTS) expect(await copies(to, id)).toBe(0);

    // The operator trusts the CA: its certificate beside the YAML file, named relative to it.
    await mkdir(join(dir, 'ca'));
    await writeFile(join(dir, 'ca/internal-ca.pem'), await readFile(ca.caFile));
    const yaml = await readFile(join(dir, 'malist.yaml'), 'utf8');
    await writeFile(
      join(dir, 'malist.yaml'),
      yaml.replace(login, `${login}    ca_file: ca/internal-ca.pem\n`),
    );
    const check = await malist(['check', '--config', dir], env);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    // Run from elsewhere: the path is the YAML file's, not the working directory's.
    const fixed = await malist(['run', '--quiet', '--config', dir], { ...env, cwd: tmpdir() });
    expect(fixed.stderr).toBe('');
    expect(fixed.code).toBe(0);
    await poll('a copy in every mailbox', async () => {
      for (const to of RECIPIENTS) if ((await copies(to, id)) < 1) return false;
      return true;
    });
    for (const to of RECIPIENTS) expect(await copies(to, id)).toBe(1);
  }, 180_000);
});
