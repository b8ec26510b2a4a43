/** Reads a Dovecot test user's INBOX over IMAPS: every message, with what `query` asks for. */
import { type FetchMessageObject, type FetchQueryObject, ImapFlow } from 'imapflow';
import type { Dovecot } from './dovecot.ts';

export async function imapInbox(
  dovecot: Dovecot,
  user: string,
  query: FetchQueryObject,
): Promise<FetchMessageObject[]> {
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
  const out: FetchMessageObject[] = [];
  try {
    const lock = await client.getMailboxLock('INBOX');
    try {
      const box = client.mailbox;
      if (box !== false && box.exists > 0)
        for await (const m of client.fetch('1:*', query)) out.push(m);
    } finally {
      lock.release();
    }
  } finally {
    await client.logout();
  }
  return out;
}
