import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fixtureMail, mailOf, parse, redList } from '../../test/posting/corpus.ts';
import { Reject } from '../errors.ts';
import { mailBytes } from '../mail/list-mail.ts';
import { parseMime } from '../mail/mime-tree.ts';
import createContentFilter, { normaliseFileName } from './content-filter.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('content-filter', () => {
  it('replaces a stripped attachment by a note, other parts byte-identical (023 PDF)', async () => {
    const mail = fixtureMail('023');
    const root = parseMime(mail.header, mail.body);
    const pdf = root.children.find((c) => c.type.mime === 'application/pdf')!;
    const before = mail.body;
    await createContentFilter(redList(), { strip_extensions: ['.PDF'] }).process(mail);
    expect(mail.body.subarray(0, pdf.start)).toEqual(before.subarray(0, pdf.start));
    expect(mail.body.subarray(mail.body.length - (before.length - pdf.end))).toEqual(
      before.subarray(pdf.end),
    );
    const parsed = await parse(mail);
    expect(parsed.attachments.filter((a) => a.contentType === 'application/pdf')).toHaveLength(0);
    expect(parsed.text).toContain('was removed by the list');
  });

  it('strips by type family inside nested parts (026 images), keeps the rest', async () => {
    const mail = fixtureMail('026');
    const before = await parse(mail);
    await createContentFilter(redList(), { strip_types: ['image/*'] }).process(mail);
    const after = await parse(mail);
    expect(after.attachments.some((a) => a.contentType.startsWith('image/'))).toBe(false);
    const kept = (p: typeof before) =>
      p.attachments.filter((a) => !a.contentType.startsWith('image/')).map((a) => sha(a.content));
    expect(kept(after)).toEqual(kept(before));
    expect(after.html).toBeTruthy();
  });

  it('rejects a post with a refused type (011 TNEF)', async () => {
    const unit = createContentFilter(redList(), { reject_types: ['application/ms-tnef'] });
    await expect(unit.process(fixtureMail('011'))).rejects.toBeInstanceOf(Reject);
    const plain = fixtureMail('001');
    const bytes = mailBytes(plain);
    await unit.process(plain);
    expect(mailBytes(plain)).toEqual(bytes);
  });

  it('collapses multipart/alternative to its text part, top level (030) and nested (026)', async () => {
    const top = fixtureMail('030');
    const text = (await parse(top)).text;
    await createContentFilter(redList(), { collapse_alternative: true }).process(top);
    expect(top.header.get('Content-Type')).toMatch(/^text\/plain/);
    const parsed = await parse(top);
    expect(parsed.text).toBe(text);
    expect(parsed.html).toBe(false);
    const nested = fixtureMail('026');
    await createContentFilter(redList(), { collapse_alternative: true }).process(nested);
    expect((await parse(nested)).html).toBe(false);
  });

  it('rejects a refused extension however the name is written (trailing dot, case, RFC 2231, RFC 2047)', async () => {
    const unit = createContentFilter(redList(), { reject_extensions: ['exe'] });
    const names = [
      'filename="evil.exe."',
      'filename="Evil.EXE  "',
      "filename*=utf-8''evil%2Eexe",
      'filename*0="ev"; filename*1="il.exe"',
      'filename="=?utf-8?B?ZXZpbC5leGU=?="',
      'filename="evil.exe::$DATA"',
    ];
    for (const name of names) {
      const mail = mailOf(
        `From: a@x.example\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nhi\n--b\nContent-Type: application/octet-stream\nContent-Disposition: attachment; ${name}\n\nMZ\n--b--\n`,
      );
      await expect(unit.process(mail), name).rejects.toBeInstanceOf(Reject);
    }
    // A name in Content-Type alone, when Content-Disposition names something else.
    const two = mailOf(
      'From: a@x.example\nContent-Type: application/octet-stream; name="evil.exe"\nContent-Disposition: attachment; filename="notes.txt"\n\nMZ\n',
    );
    await expect(unit.process(two)).rejects.toBeInstanceOf(Reject);
    expect(normaliseFileName('=?utf-8?Q?r=C3=A9sum=C3=A9.PDF?= . .')).toBe('résumé.pdf');
  });

  it('applies strip and reject rules to a single-part post', async () => {
    const single = () =>
      mailOf(
        'From: a@x.example\nSubject: tool\nContent-Type: application/x-msdownload; name="setup.exe"\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename="setup.exe"\n\nTVqQAAMAAAAEAAAA\n',
      );
    await expect(
      createContentFilter(redList(), { reject_types: ['application/x-msdownload'] }).process(
        single(),
      ),
    ).rejects.toBeInstanceOf(Reject);
    const mail = single();
    await createContentFilter(redList(), { strip_extensions: ['exe'] }).process(mail);
    const parsed = await parse(mail);
    expect(parsed.attachments).toHaveLength(0);
    expect(parsed.text).toMatch(
      /An attachment \(application\/x-msdownload, setup\.exe\) was removed/,
    );
    expect(mail.header.get('Content-Transfer-Encoding')).toBeUndefined();
  });

  it('counts a part nested beyond the depth limit, or inside attached messages, as refused', async () => {
    const unit = createContentFilter(redList(), { reject_extensions: ['exe'] });
    let body = '--b0\nContent-Type: application/octet-stream; name="evil.exe"\n\nMZ\n--b0--\n';
    for (let i = 0; i < 25; i++)
      body = `--b${i + 1}\nContent-Type: multipart/mixed; boundary=b${i}\n\n${body}--b${i + 1}--\n`;
    const deep = mailOf(
      `From: a@x.example\nContent-Type: multipart/mixed; boundary=b25\n\n${body}`,
    );
    const thrown = await unit.process(deep).catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(Reject);
    expect((thrown as Reject).reason).toMatch(/nested more than 20 levels/);
    // Without reject rules, the same post passes untouched.
    await expect(
      createContentFilter(redList(), {}).process(
        mailOf(`From: a@x.example\nContent-Type: multipart/mixed; boundary=b25\n\n${body}`),
      ),
    ).resolves.toBeDefined();
    const attached = mailOf(
      'From: a@x.example\nContent-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: message/rfc822\n\nFrom: b@y.example\nContent-Type: multipart/mixed; boundary=i\n\n--i\nContent-Type: application/octet-stream; name="evil.exe"\n\nMZ\n--i--\n--o--\n',
    );
    await expect(unit.process(attached)).rejects.toBeInstanceOf(Reject);
  });
});
