import { describe, expect, it } from 'vitest';
import { fixtureMail, mailOf, redList } from '../../test/posting/corpus.ts';
import { mailBytes } from '../mail/list-mail.ts';
import createReplyTo from './reply-to.ts';

describe('reply-to', () => {
  it('leaves the poster in charge by default (no byte changes)', async () => {
    const mail = fixtureMail('023');
    const before = mailBytes(mail);
    await createReplyTo(redList()).process(mail);
    expect(mailBytes(mail)).toEqual(before);
  });

  it('points replies at the list, next to the poster’s own Reply-To unless stripped', async () => {
    const mail = fixtureMail('023');
    await createReplyTo(redList(), { policy: 'list' }).process(mail);
    expect(mail.header.get('Reply-To')).toBe(
      'Test Tester <xxxx@xxxx.com>, Red mail list <red@list.example.com>',
    );
    const stripped = fixtureMail('023');
    await createReplyTo(redList(), { policy: 'list', strip: true }).process(stripped);
    expect(stripped.header.get('Reply-To')).toBe('Red mail list <red@list.example.com>');
    const already = mailOf('From: a@x.example\nReply-To: RED@list.example.com\n\nx\n');
    await createReplyTo(redList(), { policy: 'list' }).process(already);
    expect(already.header.get('Reply-To')).toBe('RED@list.example.com');
  });

  it('uses an explicit address, and refuses a policy without one', async () => {
    const mail = fixtureMail('001');
    await createReplyTo(redList(), { policy: 'explicit', address: 'talk@example.org' }).process(
      mail,
    );
    expect(mail.header.get('Reply-To')).toBe('talk@example.org');
    expect(() => createReplyTo(redList(), { policy: 'explicit' })).toThrow(/address/);
  });
});
