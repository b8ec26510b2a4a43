import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fixtureMail, parse, redList } from '../../test/posting/corpus.ts';
import { Reject } from '../errors.ts';
import { mailBytes } from '../mail/list-mail.ts';
import { parseMime } from '../mail/mime-tree.ts';
import createContentFilter from './content-filter.ts';

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
});
