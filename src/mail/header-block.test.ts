import { describe, expect, it } from 'vitest';
import { HeaderBlock } from './header-block.ts';
import { createListMail, mailBytes } from './list-mail.ts';

const b = (s: string) => Buffer.from(s, 'latin1');

describe('HeaderBlock', () => {
  it('keeps untouched bytes identical: folds, 8-bit, bare LF, odd casing', () => {
    const raw = Buffer.concat([
      b('SUBJECT: first\r\n\tsecond line\r\nfrom: A <a@x.example>\n'),
      Buffer.from('X-Raw: caf\u00e9\r\n', 'utf8'),
      b('\r\nbody \xff bytes\n'),
    ]);
    const mail = createListMail(raw, { fetcher: 't', id: '1' });
    expect(mail.header.get('subject')).toBe('first\tsecond line');
    expect(mail.header.get('X-Raw')).toBe('café');
    expect(mailBytes(mail, { wire: false }).equals(raw)).toBe(true);
  });

  it('edits in place and adds with the message line ending', () => {
    const mail = createListMail(b('A: 1\nSubject: x\nB: 2\n\nbody\n'), { fetcher: 't', id: '1' });
    mail.header.set('Subject', '[L] x');
    mail.header.add('List-Id', '<l.example.com>');
    expect(mailBytes(mail).toString()).toBe(
      'A: 1\nSubject: [L] x\nB: 2\nList-Id: <l.example.com>\n\nbody\n',
    );
  });

  it('set replaces the first and removes the rest; remove counts', () => {
    const { header } = HeaderBlock.parse(b('X: 1\r\nY: 2\r\nx: 3\r\n\r\n'));
    header.set('x', 'new');
    expect(header.fields.map((f) => f.raw.toString())).toEqual(['x: new\r\n', 'Y: 2\r\n']);
    expect(header.remove('Y')).toBe(1);
  });

  it('never lets CR/LF in a value start a new field', () => {
    const { header } = HeaderBlock.parse(b('A: 1\r\n\r\n'));
    header.set('Subject', 'hi\r\nBcc: victim@example.com');
    expect(header.getAll('Bcc')).toEqual([]);
    expect(header.toBuffer().toString()).toBe(
      'A: 1\r\nSubject: hi Bcc: victim@example.com\r\n\r\n',
    );
  });

  it('keeps an mbox From_ line and a BOM out of the wire form', () => {
    const raw = b('\xef\xbb\xbfFrom sender@x Mon Jan  1 00:00:00 2024\nFrom: a@x\n\nbody\n');
    const mail = createListMail(raw, { fetcher: 't', id: '1' });
    expect(mail.header.get('From')).toBe('a@x');
    expect(mailBytes(mail).toString()).toBe('From: a@x\n\nbody\n');
    expect(mailBytes(mail, { wire: false }).equals(raw)).toBe(true);
  });

  it('treats a headerless message as all body and adds a separator when fields are added', () => {
    const mail = createListMail(b('Just text, no header.\nMore.\n'), { fetcher: 't', id: '1' });
    expect(mail.header.fields).toHaveLength(0);
    mail.header.add('List-Id', '<l.x>');
    expect(mailBytes(mail).toString()).toBe('List-Id: <l.x>\n\nJust text, no header.\nMore.\n');
  });

  it('keeps a broken fold inside its field and ends the header at a body line', () => {
    const { header } = HeaderBlock.parse(b('A: one\r\ncontinued\r\nB: two\r\n\r\n'));
    expect(header.get('A')).toBe('one continued');
    const noSep = HeaderBlock.parse(b('A: 1\nThis is body\n'));
    expect(noSep.header.fields).toHaveLength(1);
    expect(noSep.bodyStart).toBe(5);
  });

  it('reads obsolete "Name  :" syntax', () => {
    const { header } = HeaderBlock.parse(b('From  : J <j@x>\r\n\r\n'));
    expect(header.get('from')).toBe('J <j@x>');
  });

  it('decodes encoded words on request', () => {
    const { header } = HeaderBlock.parse(b('Subject: =?utf-8?q?J=C3=BCrgen?=\n\n'));
    expect(header.getDecoded('Subject')).toBe('Jürgen');
  });

  it('folds long new values at blanks', () => {
    const { header } = HeaderBlock.parse(b('\n'));
    header.set('X-Long', Array.from({ length: 30 }, (_, i) => `word${i}`).join(' '));
    const text = header.toBuffer().toString();
    for (const line of text.split(/\r?\n/)) expect(line.length).toBeLessThanOrEqual(78);
    expect(header.get('X-Long')).toContain('word29');
  });

  it('ends lines at a bare CR, so a bare-CR header is fields and a blank line, not one long line', () => {
    const raw = b('From: a@x.example\rSubject: hi\r\rbody line\rmore\r');
    const mail = createListMail(raw, { fetcher: 't', id: '1' });
    expect(mail.header.bareCr).toBe(true);
    expect(mail.header.ending).toBe('blank-line');
    expect(mail.header.get('Subject')).toBe('hi');
    expect(mail.body.toString('latin1')).toBe('body line\rmore\r');
    mail.header.add('List-Id', '<l.x>');
    expect(mailBytes(mail).toString('latin1')).toBe(
      'From: a@x.example\rSubject: hi\rList-Id: <l.x>\r\n\rbody line\rmore\r',
    );
    // A CRLF message is untouched by the bare-CR rule, and so is a CR inside a body.
    const crlf = HeaderBlock.parse(b('A: 1\r\nB: 2\r\n\r\nx\ry\r\n'));
    expect(crlf.header.bareCr).toBe(false);
    expect(crlf.bodyStart).toBe(14);
  });

  it('ends the header at a MIME delimiter that follows it without a blank line', () => {
    const raw = b(
      'From: a@x.example\nContent-Type: multipart/mixed; boundary="b1"\n--b1\nContent-Type: text/plain\n\nhello\n--b1--\n',
    );
    const mail = createListMail(raw, { fetcher: 't', id: '1' });
    expect(mail.header.ending).toBe('body-line');
    expect(mail.header.get('Content-Type')).toBe('multipart/mixed; boundary="b1"');
    expect(mail.body.toString().startsWith('--b1\n')).toBe(true);
    mail.header.add('List-Id', '<l.x>');
    expect(mailBytes(mail).toString()).toBe(
      'From: a@x.example\nContent-Type: multipart/mixed; boundary="b1"\nList-Id: <l.x>\n\n--b1\nContent-Type: text/plain\n\nhello\n--b1--\n',
    );
  });

  it('says how the header ended', () => {
    expect(HeaderBlock.parse(b('A: 1\n\nx')).header.ending).toBe('blank-line');
    expect(HeaderBlock.parse(b('A: 1\n')).header.ending).toBe('end-of-message');
    expect(HeaderBlock.parse(b('A: 1\nbody\n')).header.ending).toBe('body-line');
    expect(HeaderBlock.parse(b('\0\0\0')).header.ending).toBe('body-line');
  });
});
