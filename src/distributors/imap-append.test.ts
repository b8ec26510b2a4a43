import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dovecot, dovecotAvailable, startDovecot } from '../../test/helpers/dovecot.ts';
import { createListMail } from '../mail/list-mail.ts';
import createImapAppendDistributor from './imap-append.ts';

describe.skipIf(!dovecotAvailable())('imap-append distributor (real Dovecot)', () => {
  let dovecot: Dovecot;
  beforeAll(async () => {
    dovecot = await startDovecot({ users: ['archive'] });
  });
  afterAll(() => dovecot?.stop());

  it('stores the post byte for byte in a folder, once', async () => {
    const raw = Buffer.from(
      'From: a@x.test\r\nSubject: archived\r\nMessage-ID: <arch1@x.test>\r\n\r\nbody \xe9\r\n',
      'latin1',
    );
    const mail = createListMail(raw, { fetcher: 'test', id: '1' });
    mail.ml_send_to = ['m@x.test'];
    const archive = createImapAppendDistributor({
      host: dovecot.host,
      port: dovecot.ports.imaps,
      auth: { user: dovecot.address('archive'), pass: dovecot.password('archive') },
      folder: 'Archive',
      tls: { ca: dovecot.caFile, servername: 'localhost' },
    });
    const report = await archive.distribute(mail);
    expect(report.results).toEqual([
      { recipient: 'm@x.test', status: 'delivered', distributor: 'imap-append' },
    ]);
    await archive.distribute(mail);
    const stored = await dovecot.messages('archive', 'Archive');
    expect(stored).toHaveLength(1);
    // Dovecot keeps maildir files with LF line endings; every other byte is as sent.
    expect(stored[0]?.raw.toString('latin1')).toBe(raw.toString('latin1').replace(/\r\n/g, '\n'));
  });
});
