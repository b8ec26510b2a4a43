import { describe, expect, it } from 'vitest';
import { fixtureMail, mailOf, redList } from '../../test/posting/corpus.ts';
import { Discard } from '../errors.ts';
import { mailBytes } from '../mail/list-mail.ts';
import createLoopGuard, { loopReason } from './loop-guard.ts';

const list = redList();

describe('loop-guard', () => {
  it("discards mail carrying this list's own List-Id, and only its own", () => {
    const gnupg = redList({ address: 'gnupg-announce@gnupg.org' });
    expect(loopReason(gnupg, fixtureMail('031'))).toMatch(/List-Id/);
    // Another list's post and robots are the `automated` unit's decision, not a loop.
    expect(loopReason(list, fixtureMail('031'))).toBeUndefined();
    expect(loopReason(list, fixtureMail('057'))).toBeUndefined();
  });

  it('discards mail with its own X-Loop, compared by address', async () => {
    const mail = mailOf('From: a@example.com\nX-Loop: RED@List.Example.COM\nSubject: x\n\nhi\n');
    await expect(createLoopGuard(list).process(mail)).rejects.toBeInstanceOf(Discard);
    const other = mailOf('From: a@example.com\nX-Loop: xred@list.example.com\n\nhi\n');
    expect(loopReason(list, other)).toBeUndefined();
  });

  it('passes a person’s post, stamping X-Loop and leaving every other byte as it was', async () => {
    const mail = fixtureMail('001');
    const raw = mailBytes(mail);
    const out = (await createLoopGuard(list).process(mail)) as typeof mail;
    const bytes = mailBytes(out);
    const headerEnd = raw.indexOf('\n\n') + 1;
    expect(bytes.subarray(0, headerEnd)).toEqual(raw.subarray(0, headerEnd));
    expect(bytes.subarray(headerEnd).toString()).toMatch(/^X-Loop: red@list\.example\.com\n\n/);
    expect(bytes.subarray(bytes.length - (raw.length - headerEnd - 1))).toEqual(
      raw.subarray(headerEnd + 1),
    );
  });
});
