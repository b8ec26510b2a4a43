/**
 * Acceptance: a post to a 3-member list, through the queue, into a real Postfix on
 * loopback, which delivers over LMTP into a real Dovecot; each member reads it over IMAP.
 */
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import createQueueDistributor from '../../src/distributors/queue.ts';
import { createListMail } from '../../src/mail/list-mail.ts';
import { type Dovecot, dovecotAvailable, startDovecot } from '../helpers/dovecot.ts';
import { type Postfix, postfixAvailable, startPostfix } from '../helpers/postfix.ts';
import { tempDir } from '../queue/helpers.ts';

const available = postfixAvailable() && dovecotAvailable();

async function inboxMessageIds(dovecot: Dovecot, user: string): Promise<string[]> {
  const client = new ImapFlow({
    host: dovecot.host,
    port: dovecot.ports.imaps,
    secure: true,
    auth: { user: dovecot.address(user), pass: dovecot.password(user) },
    tls: { ca: dovecot.ca, rejectUnauthorized: false },
    logger: false,
  });
  client.on('error', () => {});
  await client.connect();
  const ids: string[] = [];
  try {
    const lock = await client.getMailboxLock('INBOX');
    try {
      const box = client.mailbox;
      if (box !== false && box.exists > 0) {
        for await (const message of client.fetch('1:*', { envelope: true })) {
          if (message.envelope?.messageId) ids.push(message.envelope.messageId);
        }
      }
    } finally {
      lock.release();
    }
  } finally {
    await client.logout();
  }
  return ids;
}

describe.skipIf(!available)('queue → real Postfix → real Dovecot', () => {
  let dovecot: Dovecot;
  let postfix: Postfix;
  let spool: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    dovecot = await startDovecot({ users: ['alice', 'bob', 'carol'] });
    postfix = await startPostfix({ lmtpPort: dovecot.ports.lmtp, mailboxes: dovecot.users });
    spool = await tempDir();
  });
  afterAll(async () => {
    await postfix?.stop();
    await dovecot?.stop();
    await spool?.remove();
  });

  it('a post to a 3-member list is readable over IMAP in each member INBOX', async () => {
    const raw = Buffer.from(
      'From: poster@example.test\r\nTo: red@list.example.test\r\nSubject: [Red] hello\r\n' +
        'Message-ID: <postfix-acceptance@example.test>\r\nList-Id: Red <red.list.example.test>\r\n\r\nHello members.\r\n',
    );
    const mail = createListMail(raw, { fetcher: 'test', id: '1' });
    mail.ml_sender = 'red-bounces@example.test';
    mail.ml_send_to = dovecot.users;
    mail.ml_list_name = 'red';
    const queue = createQueueDistributor({
      dir: spool.dir,
      smtp: {
        host: postfix.host,
        port: postfix.port,
        starttls: 'never',
        max_recipients_per_transaction: 2,
      },
    });
    try {
      const report = await queue.distribute(mail);
      expect(
        report.results.map((r) => r.status),
        await postfix.log(),
      ).toEqual(['delivered', 'delivered', 'delivered']);
    } finally {
      await queue.close?.();
    }
    const deadline = Date.now() + 20_000;
    for (const user of ['alice', 'bob', 'carol']) {
      let ids: string[] = [];
      while (Date.now() < deadline) {
        ids = await inboxMessageIds(dovecot, user);
        if (ids.length > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(ids, `${user}: ${await postfix.log()}`).toEqual(['<postfix-acceptance@example.test>']);
    }
  });
});
