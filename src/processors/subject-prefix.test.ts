import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixtureMail, mailOf, parse, redList } from '../../test/posting/corpus.ts';
import createSubjectPrefix, { applyPrefix } from './subject-prefix.ts';

describe('subject-prefix', () => {
  it('never stacks, before or after Re:', () => {
    expect(applyPrefix('Re: [Red] Re: [Red] x', '[Red] ')).toBe('[Red] Re: x');
    expect(applyPrefix('Re: [Red] Re: [Red] x', '[Red] ', 'after-re')).toBe('Re: [Red] x');
    expect(applyPrefix('AW: [red] hallo', '[Red] ')).toBe('[Red] Re: hallo');
    expect(applyPrefix('Re: [Red 12] Re: [Red 13] x', '[Red %d] ', 'before-re', 14)).toBe(
      '[Red 14] Re: x',
    );
    expect(applyPrefix('x', '[Red %05d]', 'before-re', 7)).toBe('[Red 00007] x');
  });

  it('decodes encoded-word subjects and re-encodes them (026, 012)', async () => {
    for (const prefix of ['026', '012']) {
      const mail = fixtureMail(prefix);
      const original = (await parse(mail)).subject!;
      await createSubjectPrefix(redList()).process(mail);
      expect((await parse(mail)).subject).toBe(`[Red] ${original.replace(/\s+/g, ' ').trim()}`);
      expect(mail.header.get('Subject')).toMatch(/^[\x20-\x7e]*$/);
    }
  });

  it('keeps raw 8-bit subject bytes, prefixing once (005)', async () => {
    const mail = fixtureMail('005');
    const raw = mail.header.getRaw('Subject')!;
    const unit = createSubjectPrefix(redList());
    await unit.process(mail);
    await unit.process(mail);
    const now = mail.header.getRaw('Subject')!;
    expect(now.subarray(0, 7).toString()).toBe(' [Red] ');
    expect(now.subarray(7)).toEqual(raw.subarray(1));
  });

  it('numbers posts durably, the same mail always the same number', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'malist-prefix-'));
    try {
      const list = redList({ subject_prefix: '[Red #%d] ', state_dir: dir });
      const a = mailOf('From: a@x.example\nSubject: one\n\n1\n');
      const b = mailOf('From: a@x.example\nSubject: two\n\n2\n');
      await createSubjectPrefix(list).process(a);
      await createSubjectPrefix(list).process(b);
      const again = mailOf('From: a@x.example\nSubject: one\n\n1\n');
      await createSubjectPrefix(list).process(again);
      expect([a, b, again].map((m) => m.header.get('Subject'))).toEqual([
        '[Red #1] one',
        '[Red #2] two',
        '[Red #1] one',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
