import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixtureMail, redList } from '../../test/posting/corpus.ts';
import { Discard, Hold, Reject, StageError } from '../errors.ts';
import { mailBytes } from '../mail/list-mail.ts';
import type { Notice } from '../notices/compose.ts';
import { MailStore } from '../state/mail-store.ts';
import { TokenStore } from '../state/tokens.ts';
import type { ListMail } from '../types.ts';
import createNotifyModerators from './notify-moderators.ts';
import createNotifyPoster from './notify-poster.ts';
import createQuarantine from './quarantine.ts';

describe('notice reactors', () => {
  let dir: string;
  let sent: Notice[];
  const list = redList({ moderators: ['mod1@example.com', 'Mod2@Example.com'] });
  const base = () => ({
    lists: { red: list },
    state_dir: dir,
    send: async (n: Notice) => void sent.push(n),
  });
  const onList = (prefix: string): ListMail => ({ ...fixtureMail(prefix), ml_list_name: 'red' });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'malist-reactors-'));
    sent = [];
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('notify-poster: tells why, attaches the post as it arrived, at most per_day a day', async () => {
    const reactor = createNotifyPoster({ ...base(), per_day: 2 });
    const mail = onList('023');
    mail.header.set('Subject', 'rewritten by a unit before the signal');
    for (let i = 0; i < 3; i++)
      await reactor.react({
        stage: 'processor',
        unit: 'posting-policy',
        error: new Reject('not a member'),
        mail,
      });
    expect(sent).toHaveLength(2);
    const parsed = await simpleParser(sent[0]!.raw);
    expect(sent[0]!.to).toBe('xxxx@xxxx.com');
    expect(parsed.text).toContain('not a member');
    // the post as fetched, less its mbox From_ line
    expect(parsed.attachments[0]?.content).toEqual(mailBytes(fixtureMail('023')));
    await reactor.react({
      stage: 'processor',
      unit: 'x',
      error: new Hold('moderated'),
      mail: onList('001'),
    });
    expect((await simpleParser(sent[2]!.raw)).subject).toMatch(/awaits moderator approval/);
  });

  it('notify-poster: no backscatter to robots, nothing for discards, errors or unknown lists', async () => {
    const reactor = createNotifyPoster(base());
    for (const prefix of ['057', '056', '058', '049', '045'])
      await reactor.react({
        stage: 'processor',
        unit: 'p',
        error: new Reject('no'),
        mail: onList(prefix),
      });
    await reactor.react({
      stage: 'processor',
      unit: 'p',
      error: new Discard('loop'),
      mail: onList('001'),
    });
    await reactor.react({
      stage: 'processor',
      unit: 'p',
      error: new StageError('x', { code: 'EUNIT', unit: 'p' }),
      mail: onList('001'),
    });
    await reactor.react({
      stage: 'processor',
      unit: 'p',
      error: new Reject('no'),
      mail: fixtureMail('001'),
    });
    expect(sent).toHaveLength(0);
  });

  it('notify-moderators: one notice per moderator carrying a working moderate token', async () => {
    const tokens = new TokenStore(
      join(dir, 'tokens'),
      Buffer.from('0123456789abcdef0123456789abcdef'),
    );
    const reactor = createNotifyModerators({ ...base(), tokens: () => tokens });
    const mail = onList('030');
    await reactor.react({
      stage: 'processor',
      unit: 'posting-policy',
      error: new Hold('red is moderated'),
      mail,
    });
    expect(sent.map((n) => n.to)).toEqual(['mod1@example.com', 'mod2@example.com']);
    const parsed = await simpleParser(sent[0]!.raw);
    const token = /^confirm (\S+)$/.exec(parsed.subject!)![1]!;
    expect((await tokens.peek(token))?.data).toEqual({ heldId: mail.key });
    expect(parsed.text).toContain(`approve ${token}`);
    expect(parsed.text).toContain(`malist held approve|reject|discard ${mail.key}`);
    expect(parsed.headers.get('auto-submitted')).toBe('auto-generated');
    await reactor.react({ stage: 'processor', unit: 'x', error: new Reject('no'), mail });
    expect(sent).toHaveLength(2);
    const owners = createNotifyModerators({
      ...base(),
      lists: { red: redList() },
      tokens: () => tokens,
    });
    await owners.react({ stage: 'processor', unit: 'x', error: new Hold('h'), mail });
    expect(sent[2]!.to).toBe('red-owner@list.example.com');
  });

  it('quarantine: keeps refused mail with its reason', async () => {
    const reactor = createQuarantine({ state_dir: dir });
    await reactor.react({
      stage: 'processor',
      unit: 'loop-guard',
      error: new Discard('X-Loop'),
      mail: onList('001'),
    });
    await reactor.react({
      stage: 'processor',
      unit: 'p',
      error: new Hold('h'),
      mail: onList('013'),
    });
    const kept = await new MailStore(join(dir, 'quarantine', 'discard')).list();
    expect(kept.map((m) => [m.reason, m.unit, m.list])).toEqual([['X-Loop', 'loop-guard', 'red']]);
    expect(await new MailStore(join(dir, 'quarantine', 'hold')).list()).toHaveLength(0);
  });
});
