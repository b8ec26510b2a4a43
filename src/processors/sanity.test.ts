import { describe, expect, it } from 'vitest';
import { fixtureMail, mailOf, redList } from '../../test/posting/corpus.ts';
import { Hold, Reject } from '../errors.ts';
import { createListMail } from '../mail/list-mail.ts';
import createSanity, { ensureIdentity, malformedReason, rfc5322Date } from './sanity.ts';

const list = redList();
const raw = (bytes: Buffer | string) =>
  createListMail(Buffer.from(bytes as string, 'latin1'), { fetcher: 't', id: '1' });

describe('sanity', () => {
  it('names what makes a mail unusable', () => {
    expect(malformedReason(raw(Buffer.alloc(32 * 1024)))).toMatch(/no header block/);
    expect(malformedReason(raw('x'))).toMatch(/no header block/);
    expect(malformedReason(fixtureMail('021'))).toMatch(/no header block/);
    expect(malformedReason(raw('From: a@x.example\rSubject: hi\r\rtext\r'))).toMatch(/bare CR/);
    expect(malformedReason(raw('From: a@x.example\nX-Bin: a\0b\n\ntext\n'))).toMatch(/NUL/);
    expect(
      malformedReason(
        raw('From: a@x.example\nContent-Type: multipart/mixed; boundary=b\n--b\n\nx\n--b--\n'),
      ),
    ).toMatch(/MIME boundary/);
    expect(malformedReason(fixtureMail('020'))).toMatch(/no From/);
    expect(malformedReason(mailOf('From: undisclosed-recipients:;\nSubject: x\n\nhi\n'))).toMatch(
      /no usable address/,
    );
    expect(malformedReason(mailOf('From: a@x.example\n\n\n \n'))).toMatch(/empty/);
  });

  it('passes ordinary and merely odd mail of the corpus', () => {
    for (const prefix of ['001', '002', '004', '013', '014', '016', '019', '022', '028', '039'])
      expect(malformedReason(fixtureMail(prefix)), prefix).toBeUndefined();
  });

  it('holds malformed mail, or rejects it when asked and a real person sent it', async () => {
    const broken = raw('From: a@x.example\nX-Bin: \0\n\nbody\n');
    await expect(createSanity(list).process(broken)).rejects.toBeInstanceOf(Hold);
    await expect(createSanity(list, { action: 'reject' }).process(broken)).rejects.toBeInstanceOf(
      Reject,
    );
    // No usable sender: nobody to tell, so held even under `reject`.
    const noFrom = fixtureMail('020');
    await expect(createSanity(list, { action: 'reject' }).process(noFrom)).rejects.toBeInstanceOf(
      Hold,
    );
    // A moderator released it: it passes.
    const released = { ...raw('x'), ml_approved: 'cli' };
    await expect(createSanity(list).process(released)).resolves.toBeDefined();
  });

  it('adds a Message-ID made from the key and a Date when missing, and notes both', () => {
    const mail = fixtureMail('004'); // no Date, no Message-ID
    ensureIdentity(list, mail, new Date(Date.UTC(2027, 0, 5, 9, 8, 7)));
    expect(mail.header.get('Message-ID')).toBe(
      `<${mail.key.slice(0, 32)}.malist@list.example.com>`,
    );
    expect(mail.header.get('Date')).toBe('Tue, 05 Jan 2027 09:08:07 +0000');
    expect(mail.ml_notes).toEqual([
      `added Message-ID <${mail.key.slice(0, 32)}.malist@list.example.com>`,
      'added Date Tue, 05 Jan 2027 09:08:07 +0000',
    ]);
    const again = fixtureMail('004');
    ensureIdentity(list, again);
    expect(again.header.get('Message-ID')).toBe(mail.header.get('Message-ID'));
    const received = mailOf(
      'Received: from a by b; Wed, 6 Jan 2027 08:00:00 +0100 (CET)\nFrom: a@x.example\n\nhi\n',
    );
    ensureIdentity(list, received);
    expect(received.header.get('Date')).toBe('Wed, 06 Jan 2027 07:00:00 +0000');
    const complete = fixtureMail('001');
    ensureIdentity(list, complete);
    expect(complete.ml_notes).toBeUndefined();
    expect(rfc5322Date(new Date(0))).toBe('Thu, 01 Jan 1970 00:00:00 +0000');
  });
});
