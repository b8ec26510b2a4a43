import { describe, expect, it } from 'vitest';
import { fixtureMail, parse, redList } from '../../test/posting/corpus.ts';
import { listIdLabel } from '../list/addresses.ts';
import createListHeaders, { personalizeUnsubscribe } from './list-headers.ts';
import createStripHeaders from './strip-headers.ts';

describe('strip-headers + list-headers', () => {
  it("replaces another list's List-* fields with this list's (RFC 2919, 2369)", async () => {
    const mail = fixtureMail('031');
    const list = redList({
      archive_url: 'https://lists.example.com/red/',
      help_url: 'https://lists.example.com/help',
    });
    await createStripHeaders(list).process(mail);
    expect(mail.header.fields.some((f) => /^list-/i.test(f.name))).toBe(false);
    await createListHeaders(list).process(mail);
    const parsed = await parse(mail);
    expect(mail.header.get('List-Id')).toBe('Red mail list <red.list.example.com>');
    expect(parsed.headers.get('list')).toMatchObject({ id: { id: 'red.list.example.com' } });
    expect(mail.header.get('List-Post')).toBe('<mailto:red@list.example.com>');
    expect(mail.header.get('List-Help')).toBe(
      '<mailto:red-request@list.example.com?subject=help>, <https://lists.example.com/help>',
    );
    expect(mail.header.get('List-Unsubscribe')).toBe(
      '<mailto:red-request@list.example.com?subject=unsubscribe>',
    );
    expect(mail.header.get('List-Archive')).toBe('<https://lists.example.com/red/>');
    expect(mail.header.getAll('Precedence')).toEqual(['list']);
    expect(mail.header.has('List-Unsubscribe-Post')).toBe(false);
  });

  it("points at malist's web archive: List-Archive and the post's permalink as Archived-At (RFC 5064)", async () => {
    const mail = fixtureMail('001');
    mail.header.set('Archived-At', '<https://elsewhere.example/old>');
    const id = mail.header.get('Message-ID')!.replace(/[<>]/g, '');
    const list = redList({ archive: { web: 'public', url: 'https://lists.example.com' } });
    await createListHeaders(list).process(mail);
    expect(mail.header.get('List-Archive')).toBe('<https://lists.example.com/archive/red/>');
    expect(mail.header.getAll('Archived-At')).toEqual([
      `<https://lists.example.com/archive/red/m/${id}>`,
    ]);
    const hidden = fixtureMail('001');
    await createListHeaders(
      redList({ archive: { web: 'private', url: 'https://x.example' } }),
    ).process(hidden);
    expect(hidden.header.has('List-Archive')).toBe(false);
    expect(hidden.header.has('Archived-At')).toBe(false);
  });

  it('says NO for posting to an announce list', async () => {
    const mail = fixtureMail('001');
    await createListHeaders(redList({ posting: 'announce' })).process(mail);
    expect(mail.header.get('List-Post')).toMatch(/^NO/);
  });

  it('adds a shared https unsubscribe URL, and one-click only when personalised', async () => {
    const shared = fixtureMail('001');
    await createListHeaders(redList({ unsubscribe_url: 'https://l.example/{list}/unsub' })).process(
      shared,
    );
    expect(shared.header.get('List-Unsubscribe')).toMatch(/, <https:\/\/l\.example\/red\/unsub>$/);
    expect(shared.header.has('List-Unsubscribe-Post')).toBe(false);
    const list = redList({ unsubscribe_url: 'https://l.example/u?m={member}&t={token}' });
    const personal = fixtureMail('001');
    await createListHeaders(list).process(personal);
    expect(personal.header.get('List-Unsubscribe')).not.toContain('https');
    personalizeUnsubscribe(personal, list, 'a+b@example.com', 'abc');
    expect(personal.header.get('List-Unsubscribe')).toContain(
      '<https://l.example/u?m=a%2Bb%40example.com&t=abc>',
    );
    expect(personal.header.get('List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
  });

  it('removes read-receipt requests and configured fields, keeping the rest byte-identical', async () => {
    const mail = fixtureMail('059');
    mail.header.add('Return-Receipt-To', 'x@example.com');
    const keep = mail.header.fields.filter(
      (f) => !/^(disposition-notification-to|return-receipt-to|x-mailer)$/i.test(f.name),
    );
    await createStripHeaders(redList(), { remove: ['X-Mail*'] }).process(mail);
    expect(mail.header.fields.map((f) => f.raw)).toEqual(
      keep.filter((f) => !/^x-mail/i.test(f.name)).map((f) => f.raw),
    );
  });

  it('makes a dot-atom label', () => {
    expect(listIdLabel(redList({ list_id: 'Red Team.example.com' }))).toBe('red-team.example.com');
  });
});
