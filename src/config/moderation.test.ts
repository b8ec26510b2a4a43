import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RecordingDistributor } from '../../test/helpers/memory-units.ts';
import { fixtureMail, redList } from '../../test/posting/corpus.ts';
import { Reject } from '../errors.ts';
import { TokenStore } from '../state/tokens.ts';
import { distributorSender, wireModeration } from './moderation.ts';

describe('wireModeration', () => {
  it('sends notices through the distributors and builds the handler and reactors', async () => {
    const out = new RecordingDistributor();
    const send = distributorSender([out]);
    await send({
      from: 'red-bounces@list.example.com',
      to: 'p@example.com',
      raw: Buffer.from('Subject: x\r\n\r\nhi\r\n'),
    });
    expect(out.sent.map((s) => [s.recipient, s.mail.ml_sender])).toEqual([
      ['p@example.com', 'red-bounces@list.example.com'],
    ]);
    const refusing = new RecordingDistributor(() => 'failed');
    await expect(
      distributorSender([refusing])({
        from: 'a@b.example',
        to: 'c@d.example',
        raw: Buffer.from('\r\n'),
      }),
    ).rejects.toThrow(/refused/);
    const wired = wireModeration({
      stateDir: '/nonexistent',
      lists: { red: redList() },
      pipeline: () => undefined,
      tokens: () => new TokenStore(join('/nonexistent', 't'), Buffer.alloc(32, 1)),
      send,
    });
    expect(Object.keys(wired.confirmHandlers)).toEqual(['moderate']);
    expect(typeof wired.confirmHandlers.moderate?.replay).toBe('function');
    expect(wired.reactors.map((r) => r.name)).toEqual(['notify-poster', 'notify-moderators']);
  });

  it('notify-poster, made when it first reacts, tells a rejected poster', async () => {
    // The notice reactors load on first use (a post that goes through never loads them).
    const dir = await mkdtemp(join(tmpdir(), 'malist-wired-'));
    try {
      const out = new RecordingDistributor();
      const wired = wireModeration({
        stateDir: dir,
        lists: { red: redList() },
        pipeline: () => undefined,
        tokens: () => new TokenStore(join(dir, 't'), Buffer.alloc(32, 1)),
        send: distributorSender([out]),
      });
      const mail = { ...fixtureMail('023'), ml_list_name: 'red' };
      for (const reactor of wired.reactors)
        await reactor.react({
          stage: 'processor',
          unit: 'posting-policy',
          error: new Reject('not a member'),
          mail,
        });
      expect(out.sent.map((s) => s.recipient)).toEqual(['xxxx@xxxx.com']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
