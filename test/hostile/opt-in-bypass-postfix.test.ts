/**
 * The double opt-in bypass of issue 16, through a real Postfix relay into a real Dovecot:
 * Mallory owns attacker.test (a catch-all there delivers every address to her) and asks the
 * list to subscribe `victim@example.test#@attacker.test`. Postfix would route a confirmation
 * for it to attacker.test, Mallory would confirm, and a member store that reads `#` as a
 * comment would then hold victim@example.test. malist refuses the address at subscribe time:
 * Mallory gets a refusal and no token, the victim gets nothing, the member file is unchanged.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { malist, tempConfig } from '../cli/run-malist.ts';
import { type Dovecot, dovecotAvailable, startDovecot } from '../helpers/dovecot.ts';
import { imapInbox } from '../helpers/imap-inbox.ts';
import { type Postfix, postfixAvailable, startPostfix } from '../helpers/postfix.ts';
import { writeQueueConfig } from '../queue/config-file.ts';
import { NO_ENVELOPE } from './cli-mail.ts';

const available = postfixAvailable() && dovecotAvailable();

async function inbox(dovecot: Dovecot, user: string): Promise<string[]> {
  const got = await imapInbox(dovecot, user, { source: true });
  return got.flatMap((m) => (m.source ? [m.source.toString('utf8')] : []));
}

describe.skipIf(!available)('double opt-in bypass through a real Postfix relay', () => {
  let dovecot: Dovecot;
  let postfix: Postfix;
  beforeAll(async () => {
    dovecot = await startDovecot({ users: ['victim@example.test', 'mallory@attacker.test'] });
    postfix = await startPostfix({
      lmtpPort: dovecot.ports.lmtp,
      mailboxes: dovecot.users,
      // Mallory's domain: every address in it reaches her (the attack's premise).
      extraMain: [
        'virtual_mailbox_domains = example.test, attacker.test',
        'virtual_alias_maps = inline:{ @attacker.test=mallory@attacker.test }',
      ].join('\n'),
    });
  }, 60_000);
  afterAll(async () => {
    await postfix?.stop();
    await dovecot?.stop();
  });

  it('victim@example.test#@attacker.test is refused: Mallory gets no token, the victim nothing', async () => {
    const dir = await tempConfig();
    await writeQueueConfig(dir, postfix.port);
    const ran = await malist(['receive', '--config', dir], {
      env: NO_ENVELOPE,
      timeoutMs: 90_000,
      input: [
        'From: Mallory <mallory@attacker.test>',
        'To: red-request@list.example.com',
        'Subject: subscribe victim@example.test#@attacker.test',
        'Date: Mon, 23 Nov 2026 10:00:00 +0000',
        'Message-ID: <bypass@attacker.test>',
        '',
        '',
      ].join('\r\n'),
    });
    expect(ran.code, ran.stderr).toBe(0);
    // Mallory's answer arrives through Postfix and Dovecot.
    const deadline = Date.now() + 60_000;
    let got: string[] = [];
    while (got.length === 0 && Date.now() < deadline) {
      got = await inbox(dovecot, 'mallory@attacker.test');
      if (got.length === 0) await new Promise((r) => setTimeout(r, 250));
    }
    expect(got.length, await postfix.log()).toBeGreaterThan(0);
    expect(got.join('\n')).toMatch(/cannot be subscribed here/);
    expect(got.join('\n')).not.toMatch(/confirm [0-9a-f]{32}-[0-9a-f]{24}/);
    expect(await inbox(dovecot, 'victim@example.test')).toEqual([]);
    const file = await readFile(join(dir, 'lists/red.yaml'), 'utf8');
    expect(file).not.toContain('victim');
  }, 150_000);
});
