/**
 * No password or token ever appears in logs: `malist receive` and `malist run` with SMTP
 * AUTH, a POP3 login (real Dovecot), the installation secret, right and wrong passwords,
 * a held post and a subscription confirmation; then every byte they printed and every
 * file they wrote (logs, delivery log, json-log, state, spool, dead letters) is searched
 * for the secrets — also base64-encoded, as AUTH PLAIN/LOGIN would carry them.
 */
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listPost, malist, type Ran, writeConfig } from '../helpers/crash-config.ts';
import { type Dovecot, dovecotAvailable, startDovecot } from '../helpers/dovecot.ts';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-server.ts';

const SMTP_PASS = 'Smtp-Pass-8e1f0c2b7a';
const SMTP_WRONG = 'Wrong-Pass-4d9a6b13e5';
const POP3_PASS = 'Pop3-Pass-6c2d1e8f90';
const POP3_WRONG = 'Pop3-Wrong-1a2b3c4d5e';
const INSTALL_SECRET = 'Install-Secret-2f7c8e91ab3d45c6';

/** Every form a secret could leak in: as is, base64 alone, and inside AUTH PLAIN. */
function forms(secret: string, user: string): string[] {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return [secret, b64(secret), b64(`\0${user}\0${secret}`), b64(`${user}\0${user}\0${secret}`)];
}

async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await allFiles(path)));
    else out.push(path);
  }
  return out;
}

describe('no secret in any log or state file', () => {
  let smtp: TestSmtpServer;
  let dovecot: Dovecot | undefined;
  let dir: string;
  const outputs: Array<{ what: string; ran: Ran }> = [];

  beforeAll(async () => {
    smtp = await startSmtpServer({ auth: { user: 'malist', pass: SMTP_PASS } });
    if (dovecotAvailable())
      dovecot = await startDovecot({ users: [{ user: 'lists', password: POP3_PASS }] });
  }, 60_000);
  afterAll(async () => {
    await smtp?.stop();
    await dovecot?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('receive and run with right and wrong passwords; grep everything', async () => {
    const fetch = dovecot
      ? [
          'servers:',
          '  mailbox:',
          `    host: 127.0.0.1`,
          `    port: ${dovecot.ports.pop3s}`,
          '    tls: implicit',
          `    ca_file: ${JSON.stringify(dovecot.caFile)}`,
          `    user: ${JSON.stringify(dovecot.address('lists'))}`,
          '    password_env: MALIST_TEST_POP3_PASSWORD',
        ].join('\n')
      : '';
    dir = await writeConfig({
      smtpPort: smtp.port,
      smtp: { user: 'malist', password_env: 'MALIST_TEST_SMTP_PASSWORD', starttls: 'never' },
    });
    // The POP3 source joins the (empty) maildir inbox in fetch:, its server in servers:.
    let yaml = await readFile(join(dir, 'malist.yaml'), 'utf8');
    if (dovecot) {
      yaml = yaml
        .replace('servers:\n', `${fetch}\n`)
        .replace('fetch:\n', 'fetch:\n  - type: pop3\n    server: mailbox\n');
      await dovecot.deliver('lists', listPost({ id: 'pop3-post@secrets.test' }));
    }
    await writeFile(join(dir, 'malist.yaml'), yaml);
    const env = (smtpPass: string, pop3Pass: string) => ({
      MALIST_TEST_SMTP_PASSWORD: smtpPass,
      MALIST_TEST_POP3_PASSWORD: pop3Pass,
      MALIST_SECRET: INSTALL_SECRET,
    });
    const run = async (what: string, args: string[], e: NodeJS.ProcessEnv, input?: Buffer) => {
      const ran = await malist([...args, '--config', dir], { env: e, ...(input ? { input } : {}) });
      outputs.push({ what, ran });
      return ran;
    };

    const check = await run('check', ['check'], env(SMTP_PASS, POP3_PASS));
    expect(check.code, check.stderr).toBe(0);
    // Wrong passwords first: the failures are what would print a secret, if anything did.
    await run(
      'receive, wrong SMTP password',
      ['receive', '--list', 'red'],
      env(SMTP_WRONG, POP3_WRONG),
      listPost({ id: 'a@secrets.test' }),
    );
    await run('run, wrong passwords', ['run'], env(SMTP_WRONG, POP3_WRONG));
    await run(
      'receive, a non-member (held)',
      ['receive', '--list', 'red'],
      env(SMTP_PASS, POP3_PASS),
      listPost({ id: 'b@secrets.test', from: 'mallory@elsewhere.example' }),
    );
    await run(
      'receive, a subscription request',
      ['receive', '--recipient', 'red-request@list.example.com'],
      env(SMTP_PASS, POP3_PASS),
      listPost({
        id: 'c@secrets.test',
        from: 'newbie@example.net',
        to: 'red-request@list.example.com',
        subject: 'subscribe',
      }),
    );
    await new Promise((r) => setTimeout(r, 1100)); // past the backoff
    const good = await run('run, right passwords', ['run'], env(SMTP_PASS, POP3_PASS));
    expect(good.code, `${good.stdout}\n${good.stderr}`).toBe(0);
    // The post queued under the wrong password went out with the right one.
    expect(smtp.count('alice@example.org', 'a@secrets.test')).toBe(1);
    if (dovecot) expect(smtp.count('bob@example.org', 'pop3-post@secrets.test')).toBe(1);

    const secrets = [
      ...forms(SMTP_PASS, 'malist'),
      ...forms(SMTP_WRONG, 'malist'),
      ...forms(POP3_PASS, 'lists@example.test'),
      ...forms(POP3_WRONG, 'lists@example.test'),
      INSTALL_SECRET,
      Buffer.from(INSTALL_SECRET).toString('hex'),
    ];
    // Confirmation and moderation tokens issued meanwhile: their ids are the file names.
    const tokenIds: string[] = [];
    for (const file of await allFiles(dir)) {
      const m = /[/\\]tokens[/\\](?:used[/\\])?([0-9a-f]{32})\.json$/.exec(file);
      if (m) tokenIds.push(m[1]!);
    }
    const leaks: string[] = [];
    let lines = 0;
    const search = (where: string, text: string) => {
      lines += text.split('\n').length;
      for (const s of [...secrets, ...tokenIds]) if (text.includes(s)) leaks.push(`${where}: ${s}`);
    };
    for (const { what, ran } of outputs) {
      search(`${what} stdout`, ran.stdout);
      search(`${what} stderr`, ran.stderr);
    }
    let files = 0;
    for (const file of await allFiles(dir)) {
      // Mail is not a log: a confirmation request waiting in the spool must carry its token.
      if (file.endsWith('.eml') || (await stat(file)).size > 5_000_000) continue;
      files++;
      search(file.slice(dir.length + 1), await readFile(file, 'latin1'));
    }
    process.stdout.write(
      `secrets: ${secrets.length + tokenIds.length} secret forms (${tokenIds.length} token ids) searched in ${outputs.length} command outputs and ${files} files, ${lines} lines: ${leaks.length} found\n`,
    );
    expect(leaks).toEqual([]);
  });
});
