import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fixtureMail, mailOf, parse, redList } from '../../test/posting/corpus.ts';
import { mailBytes } from '../mail/list-mail.ts';
import { parseMime } from '../mail/mime-tree.ts';
import type { ListMail } from '../types.ts';
import { decorateMail } from './decorate.ts';
import createFooter, { personalize } from './footer.ts';

const list = redList();
const FOOT = 'Red list footer';

async function withFooter(prefix: string, options = {}): Promise<ListMail> {
  const mail = fixtureMail(prefix);
  return (await createFooter(list, { text: `-- \n${FOOT} {list_address}`, ...options }).process(
    mail,
  )) as ListMail;
}

function headerBytes(mail: ListMail): Buffer {
  return mail.header.toBuffer({ wire: true });
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe('footer', () => {
  it('writes {archive_url} and each post its own {permalink}', async () => {
    const archived = redList({ archive: { web: 'public', url: 'https://lists.example.com' } });
    const footer = createFooter(archived, { text: '-- \n{archive_url}\n{permalink}' });
    for (const prefix of ['001', '013']) {
      const mail = fixtureMail(prefix);
      const id = mail.header.get('Message-ID')!.replace(/[<>]/g, '');
      const parsed = await parse((await footer.process(mail)) as ListMail);
      expect(parsed.text).toContain('https://lists.example.com/archive/red/\n');
      expect(parsed.text).toContain(`https://lists.example.com/archive/red/m/${id}`);
    }
  });

  it('appends to a text/plain body in its own encoding; the header is untouched', async () => {
    const before = fixtureMail('001');
    const after = await withFooter('001');
    expect(headerBytes(after)).toEqual(headerBytes(before));
    expect(after.body.subarray(0, before.body.length)).toEqual(before.body);
    const parsed = await parse(after);
    expect(parsed.text).toContain(`${FOOT} red@list.example.com`);
  });

  it('starts the footer on a line of its own when the body lacks a final newline (CRLF)', async () => {
    const before = fixtureMail('002');
    const after = await withFooter('002');
    expect(after.body.subarray(0, before.body.length)).toEqual(before.body);
    expect(after.body.subarray(before.body.length).toString()).toMatch(/^\r\n-- \r\nRed list/);
    expect((await parse(after)).text).toMatch(/\n-- \nRed list footer/);
  });

  it('adds to both alternatives, HTML footer in the HTML part, boundaries and preamble kept', async () => {
    const before = fixtureMail('030');
    const after = await withFooter('030');
    const parsed = await parse(after);
    expect(parsed.text).toContain(FOOT);
    expect(parsed.html).toContain(`<div class="malist-footer">`);
    expect(parsed.html).toContain(FOOT);
    const first = parseMime(before.header, before.body).children[0]!;
    expect(after.body.subarray(0, first.bodyStart)).toEqual(
      before.body.subarray(0, first.bodyStart),
    );
  });

  it('adds to quoted-printable and base64 alternatives, decoding to the original plus the footer', async () => {
    for (const prefix of ['017', '027']) {
      const original = await parse(fixtureMail(prefix));
      const parsed = await parse(await withFooter(prefix));
      expect(parsed.text?.startsWith(original.text!.trimEnd()), prefix).toBe(true);
      expect(parsed.text, prefix).toContain(FOOT);
      expect(parsed.html, prefix).toContain(FOOT);
    }
  });

  it('adds a part to multipart/mixed, other parts byte-identical (PDF attachment intact)', async () => {
    const before = fixtureMail('023');
    const after = await withFooter('023');
    const root = parseMime(before.header, before.body);
    expect(after.body.subarray(0, root.closeAt)).toEqual(before.body.subarray(0, root.closeAt));
    const [a, b] = [await parse(before), await parse(after)];
    expect(b.attachments.map((x) => sha(x.content))).toEqual(
      a.attachments.map((x) => sha(x.content)),
    );
    expect(b.text).toContain(FOOT);
  });

  it('wraps multipart/signed in multipart/mixed, leaving the signed entity byte-identical', async () => {
    for (const prefix of ['033', '032', '034']) {
      const before = fixtureMail(prefix);
      const after = await withFooter(prefix);
      expect(after.header.get('Content-Type')).toMatch(/^multipart\/mixed; boundary="=_malist_/);
      const outer = parseMime(after.header, after.body);
      expect(outer.children).toHaveLength(2);
      const inner = outer.children[0]!;
      expect(inner.type.mime).toBe('multipart/signed');
      expect(after.body.subarray(inner.bodyStart, inner.end)).toEqual(before.body);
      const ct = before.header.fields.find((f) => /^content-type$/i.test(f.name))!.raw;
      expect(after.body.subarray(inner.start, inner.start + ct.length)).toEqual(ct);
      expect((await parse(after)).text).toContain(FOOT);
    }
  });

  it('keeps an existing list footer part and adds its own after it (031)', async () => {
    const parsed = await parse(await withFooter('031'));
    expect(parsed.text).toContain('Gnupg-announce mailing list');
    expect(parsed.text).toContain(FOOT);
  });

  it('wraps when the footer cannot be written in the part’s charset or encoding', async () => {
    const accented = await withFooter('017', { text: 'Pied de page: café ✔' });
    expect(accented.header.get('Content-Type')).toMatch(/^multipart\/mixed/);
    expect((await parse(accented)).text).toContain('café ✔');
    const odd = await withFooter('042'); // Content-Transfer-Encoding "7-bit"
    expect(odd.header.get('Content-Type')).toMatch(/^multipart\/mixed/);
  });

  it('writes a UTF-8 footer into a UTF-8 8bit part (012) and an ASCII footer into raw 8-bit text (003)', async () => {
    const utf8 = await withFooter('012', { text: 'Fußzeile ✔' });
    expect((await parse(utf8)).text).toContain('Fußzeile ✔');
    const before = fixtureMail('003');
    const raw8 = await withFooter('003');
    expect(raw8.body.subarray(0, before.body.length)).toEqual(before.body);
  });

  it('leaves a multipart whose boundary never appears as it is', async () => {
    const mail = fixtureMail('035');
    const bytes = mailBytes(mail);
    expect(decorateMail(mail, { footer: 'x' })).toBe('untouched');
    expect(mailBytes(mail)).toEqual(bytes);
  });

  it('puts a header text first, in plain and mixed mail', async () => {
    const plain = await withFooter('001', { header: 'Posted to {list_name}' });
    expect((await parse(plain)).text).toMatch(/^Posted to red\n/);
    const mail = mailOf(
      'From: a@b.example\nContent-Type: text/html; charset=utf-8\n\n<html><body class=x><p>hi</p></body></html>\n',
    );
    await createFooter(list, { header: 'Top & {list_name}' }).process(mail);
    expect(mail.body.toString()).toMatch(
      /<body class=x><div class="malist-footer"><br>Top &amp; red<\/div>\s*<p>hi/,
    );
    expect(mail.body.toString()).toMatch(/<\/div>\s*<\/body><\/html>/);
  });
});

describe('personalised footer', () => {
  it('leaves the shared copy alone and decorates one copy per member', async () => {
    const list = redList({ unsubscribe_url: 'https://l.example/u?m={member}&t={token}' });
    const options = { text: 'You are {member}; leave: {unsubscribe_url}' };
    const mail = fixtureMail('030');
    const before = mailBytes(mail);
    await createFooter(list, options).process(mail);
    expect(mailBytes(mail)).toEqual(before);
    const copy = personalize(mail, list, options, { address: 'bob@example.org', token: 't1' });
    expect(mailBytes(mail)).toEqual(before);
    expect(copy.ml_send_to).toEqual(['bob@example.org']);
    const parsed = await parse(copy);
    expect(parsed.text).toContain(
      'You are bob@example.org; leave: https://l.example/u?m=bob%40example.org&t=t1',
    );
    expect(parsed.html).toContain('You are bob@example.org');
    expect(copy.header.get('List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
  });
});
