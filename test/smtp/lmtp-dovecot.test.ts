/** LMTP straight into a real Dovecot: per-recipient answers after DATA become per-recipient results. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSmtpTransport } from '../../src/smtp/nodemailer.ts';
import { type Dovecot, dovecotAvailable, startDovecot } from '../helpers/dovecot.ts';

describe.skipIf(!dovecotAvailable())('smtp transport in LMTP mode (real Dovecot)', () => {
  let dovecot: Dovecot;
  beforeAll(async () => {
    dovecot = await startDovecot({ users: ['alice', 'bob'] });
  });
  afterAll(() => dovecot?.stop());

  it('delivers to known users, fails an unknown one, each on its own', async () => {
    const transport = createSmtpTransport({
      host: dovecot.host,
      port: dovecot.ports.lmtp,
      lmtp: true,
      starttls: 'never',
    });
    try {
      const raw = Buffer.from(
        'From: a@x.test\r\nSubject: lmtp\r\nMessage-ID: <lmtp1@x.test>\r\n\r\nhi\r\n',
      );
      const results = await transport.send({
        from: 'red-bounces@example.test',
        to: [dovecot.address('alice'), 'nobody@example.test', dovecot.address('bob')],
        raw,
      });
      expect(results.map((r) => [r.recipient, r.status])).toEqual([
        [dovecot.address('alice'), 'delivered'],
        ['nobody@example.test', 'failed'],
        [dovecot.address('bob'), 'delivered'],
      ]);
      expect(await dovecot.messages('alice')).toHaveLength(1);
      expect(await dovecot.messages('bob')).toHaveLength(1);
    } finally {
      await transport.close();
    }
  });
});
