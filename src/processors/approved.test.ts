import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { mailOf, redList } from '../../test/posting/corpus.ts';
import { mailBytes } from '../mail/list-mail.ts';
import type { ListMail } from '../types.ts';
import createApproved, { passwordMatches } from './approved.ts';

const list = redList({ moderator_password: 's3cret-pw' });
const approve = (mail: ListMail) => createApproved(list).process(mail) as Promise<ListMail>;

/** Every place the password could still be read: the bytes, the decoded text and HTML. */
async function leaks(mail: ListMail, password: string): Promise<boolean> {
  const bytes = mailBytes(mail);
  const parsed = await simpleParser(bytes);
  return (
    bytes.toString('latin1').includes(password) ||
    (parsed.text ?? '').includes(password) ||
    String(parsed.html || '').includes(password)
  );
}

describe('approved', () => {
  it.each(['Approved', 'Approve', 'X-Approved', 'X-Approve'])(
    '%s: header approves with the password and is always removed',
    async (field) => {
      const right = await approve(mailOf(`From: a@x.example\n${field}: s3cret-pw\n\nhello\n`));
      expect(right.ml_approved).toBe('approved-header');
      expect(await leaks(right, 's3cret-pw')).toBe(false);
      const wrong = await approve(mailOf(`From: a@x.example\n${field}: guess-pw\n\nhello\n`));
      expect(wrong.ml_approved).toBeUndefined();
      expect(await leaks(wrong, 'guess-pw')).toBe(false);
    },
  );

  it('takes the first non-blank body line, in any transfer encoding, out of the post', async () => {
    const plain = await approve(
      mailOf('From: a@x.example\nSubject: x\n\n\n  Approved: s3cret-pw\nThe post.\n'),
    );
    expect(plain.ml_approved).toBe('approved-body');
    expect(plain.body.toString()).toBe('\r\nThe post.\r\n');
    const qp = await approve(
      mailOf(
        'From: a@x.example\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\nX-Approve: s3cret=2Dpw\nGr=C3=BC=C3=9Fe\n',
      ),
    );
    expect(qp.ml_approved).toBe('approved-body');
    expect((await simpleParser(mailBytes(qp))).text?.trim()).toBe('Grüße');
    const b64 = Buffer.from('Approved: wrong-guess\nHello there\n').toString('base64');
    const base64 = await approve(
      mailOf(
        `From: a@x.example\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n${b64}\n`,
      ),
    );
    expect(base64.ml_approved).toBeUndefined();
    expect(await leaks(base64, 'wrong-guess')).toBe(false);
    expect((await simpleParser(mailBytes(base64))).text?.trim()).toBe('Hello there');
  });

  it('strips the password from the HTML alternative too', async () => {
    const mail = mailOf(
      [
        'From: a@x.example',
        'Content-Type: multipart/alternative; boundary="b"',
        '',
        '--b',
        'Content-Type: text/plain; charset=us-ascii',
        '',
        'Approved: s3cret-pw',
        'See you.',
        '--b',
        'Content-Type: text/html; charset=us-ascii',
        'Content-Transfer-Encoding: quoted-printable',
        '',
        '<html><body><p>Approved:&nbsp;s3cret-pw</p><p>See you.</p></body></html>',
        '--b--',
        '',
      ].join('\n'),
    );
    const out = await approve(mail);
    expect(out.ml_approved).toBe('approved-body');
    expect(await leaks(out, 's3cret-pw')).toBe(false);
    const parsed = await simpleParser(mailBytes(out));
    expect(parsed.text).toContain('See you.');
    expect(String(parsed.html)).toContain('<p>See you.</p>');
  });

  it('leaves a post whose first line is not a password line alone', async () => {
    const mail = mailOf('From: a@x.example\n\nHello,\nApproved: not the first line\n');
    const before = mailBytes(mail);
    const out = await approve(mail);
    expect(mailBytes(out)).toEqual(before);
    expect(passwordMatches('s3cret-pw', 's3cret-pw')).toBe(true);
    expect(passwordMatches('s3cret-pX', 's3cret-pw')).toBe(false);
    expect(passwordMatches(undefined, 's3cret-pw')).toBe(false);
  });
});
