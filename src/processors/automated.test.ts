import { describe, expect, it } from 'vitest';
import { fixtureMail, mailOf, redList } from '../../test/posting/corpus.ts';
import { Discard, Hold } from '../errors.ts';
import createAutomated, { automatedDecision } from './automated.ts';

const list = redList();

describe('automated', () => {
  it('sends robots of the corpus to the owners by default, with the reason', () => {
    const expected: Record<string, RegExp> = {
      '045': /report|envelope sender/,
      '046': /Auto-Submitted: auto-generated/,
      '047': /delivery-status report/,
      '048': /delivery-status report/,
      '049': /Auto-Submitted: auto-replied/,
      '053': /delivery-status report/,
      '054': /mail system|robot address/,
      '055': /Auto-Submitted/,
      '056': /envelope sender is empty/,
      '057': /Auto-Submitted: auto-replied/,
      '058': /Precedence: junk/,
      '059': /disposition-notification report/,
      '060': /feedback-report report/,
      '029': /robot address/,
    };
    for (const [prefix, reason] of Object.entries(expected)) {
      const decision = automatedDecision(fixtureMail(prefix));
      expect(decision?.action, prefix).toBe('owner');
      expect(decision?.found.reason, prefix).toMatch(reason);
    }
  });

  it('lets people through, and holds posts relayed by another list unless accepted', () => {
    for (const prefix of ['001', '004', '013', '023', '026', '030', '033'])
      expect(automatedDecision(fixtureMail(prefix)), prefix).toBeUndefined();
    for (const prefix of ['031', '032', '061'])
      expect(automatedDecision(fixtureMail(prefix))?.action, prefix).toBe('hold');
    expect(automatedDecision(fixtureMail('031'), { relayed: 'accept' })).toBeUndefined();
    expect(
      automatedDecision(fixtureMail('031'), { accept_list_ids: ['gnupg-announce.gnupg.org'] }),
    ).toBeUndefined();
    expect(automatedDecision(fixtureMail('031'), { relayed: 'discard' })?.action).toBe('discard');
  });

  it('needs a second signal before words alone make an auto-reply', () => {
    const words = mailOf('From: a@x.example\nSubject: Out of office party\n\nWho comes?\n');
    expect(automatedDecision(words)).toBeUndefined();
    const both = mailOf(
      'From: a@x.example\nSubject: Out of office\n\nI am currently away and will be back on Monday.\n',
    );
    expect(automatedDecision(both)?.found.kind).toBe('auto-reply');
    const suppress = mailOf(
      'From: a@x.example\nX-Auto-Response-Suppress: All\nSubject: Automatic reply: x\n\nhi\n',
    );
    expect(automatedDecision(suppress)?.found.kind).toBe('auto-reply');
    for (const marker of ['X-Autoreply: yes', 'X-Autorespond: x', 'Precedence: auto_reply'])
      expect(
        automatedDecision(mailOf(`From: a@x.example\n${marker}\n\nhi\n`)),
        marker,
      ).toBeDefined();
    const noreply = mailOf('From: newsalerts-noreply@news.example\n\nhi\n');
    expect(automatedDecision(noreply)?.found.reason).toMatch(/robot address/);
  });

  it('throws the configured signal; a moderator’s release passes', async () => {
    const owner = createAutomated(list);
    const thrown = await owner.process(fixtureMail('057')).catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(Discard);
    expect((thrown as Discard).forward).toBe('owner');
    expect((thrown as Discard).reason).toMatch(/forwarded to the list owners/);
    await expect(
      createAutomated(list, { action: 'hold' }).process(fixtureMail('057')),
    ).rejects.toBeInstanceOf(Hold);
    const discard = await createAutomated(list, { action: 'discard' })
      .process(fixtureMail('057'))
      .catch((e: unknown) => e);
    expect((discard as Discard).forward).toBeUndefined();
    const released = { ...fixtureMail('057'), ml_approved: 'cli' };
    await expect(owner.process(released)).resolves.toBe(released);
  });
});
