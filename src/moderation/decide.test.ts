import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixtureMail, redList } from '../../test/posting/corpus.ts';
import type { ListSettings } from '../list/settings.ts';
import createSingleList from '../processors/single-list.ts';
import { MailStore } from '../state/mail-store.ts';
import { decide } from './decide.ts';
import { doneStore, heldStore, type ModerationContext, readDecision } from './held.ts';

describe('decide', () => {
  let dir: string;
  let ctx: ModerationContext;
  let list: ListSettings;
  let id: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'malist-decide-'));
    list = redList({ posting: 'moderated', state_dir: dir });
    const single = createSingleList(list);
    ctx = { stateDir: dir, pipeline: (name) => (name === 'red' ? single : undefined) };
    // What play() does on Hold: the post as fetched, under its key.
    const mail = fixtureMail('033');
    await new MailStore(join(dir, 'held', 'red')).put(mail, {
      reason: 'moderated',
      unit: 'posting-policy',
      list: 'red',
    });
    id = mail.key;
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('approves once: the release passes the rules that held it, under a new key', async () => {
    const first = await decide(ctx, list, id, 'approve', 'mod@example.com', 'request-1');
    expect(first.status).toBe('done');
    expect(first.release?.key).not.toBe(id);
    expect(first.release?.ml_approved).toBe('mod@example.com');
    expect(first.release?.ml_send_to).toEqual(['alice@example.com', 'bob@example.org']);
    expect(first.release?.header.get('Subject')).toBe(
      '[Red] This is a test of signing with S/MIME',
    );
    expect(await heldStore(ctx, 'red').list()).toHaveLength(0);
    expect(await doneStore(ctx, 'red').list()).toHaveLength(1);
    // The same command mail again (crash replay): the same release.
    const replay = await decide(ctx, list, id, 'approve', 'mod@example.com', 'request-1');
    expect(replay.release?.key).toBe(first.release?.key);
    // Anyone else, or another decision: nothing but a message.
    const other = await decide(ctx, list, id, 'reject', 'mod2@example.com', 'request-2');
    expect(other.status).toBe('already');
    expect(other.message).toMatch(/already approved \(by mod@example.com/);
    expect((await readDecision(ctx, 'red', id))?.action).toBe('approve');
  });

  it('keeps a post held when its release is refused, and knows no unknown id', async () => {
    const strict = {
      ...list,
      unit_options: {
        'content-filter': { reject_types: ['application/pkcs7-signature'], action: 'hold' },
      },
    };
    const single = createSingleList(strict);
    const refusing = { ...ctx, pipeline: () => single };
    const result = await decide(refusing, strict, id, 'approve', 'mod@example.com');
    expect(result.status).toBe('failed');
    expect(await heldStore(ctx, 'red').list()).toHaveLength(1);
    expect(await readDecision(ctx, 'red', id)).toBeUndefined();
    expect((await decide(ctx, list, 'f'.repeat(64), 'approve', 'x')).status).toBe('missing');
  });
});
