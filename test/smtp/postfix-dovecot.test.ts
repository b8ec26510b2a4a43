/**
 * Acceptance: a post to a 3-member list, through the queue, into a real Postfix on
 * loopback, which delivers over LMTP into a real Dovecot; each member reads it over IMAP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import createQueueDistributor from '../../src/distributors/queue.ts';
import { createListMail } from '../../src/mail/list-mail.ts';
import { type Dovecot, dovecotAvailable, startDovecot } from '../helpers/dovecot.ts';
import { imapInbox } from '../helpers/imap-inbox.ts';
import { type Postfix, postfixAvailable, startPostfix } from '../helpers/postfix.ts';
import { tempDir } from '../queue/helpers.ts';

const available = postfixAvailable() && dovecotAvailable();

async function inboxMessageIds(dovecot: Dovecot, user: string): Promise<string[]> {
  const got = await imapInbox(dovecot, user, { envelope: true });
  return got.flatMap((m) => (m.envelope?.messageId ? [m.envelope.messageId] : []));
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
