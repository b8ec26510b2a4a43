import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ListSettings } from '../list/settings.ts';
import type { Notice } from './compose.ts';
import { createDeadLetterNotices, type DeadLetterEvent } from './dead-letters.ts';
import { noticeOutlet } from './list-notices.ts';

const red: ListSettings = {
  name: 'red',
  address: 'red@list.example.com',
  members: [],
  owners: ['owner@example.org'],
};

const event = (recipient: string): DeadLetterEvent => ({
  list: 'red',
  entryId: 'e1',
  messageId: 'm1@example.org',
  recipient,
  code: 550,
  response: '550 5.1.1 no such user',
  reason: 'refused',
});

let dir = '';
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('dead-letter notices to the list owner', () => {
  it('one notice per list per period, however many runners; the rest waits for the next', async () => {
    dir = await mkdtemp(join(tmpdir(), 'malist-dead-'));
    const sent: Notice[] = [];
    let now = Date.parse('2026-12-05T10:00:00Z');
    const runner = () =>
      createDeadLetterNotices({
        stateDir: dir,
        lists: { red },
        outlet: noticeOutlet({ lists: {}, state_dir: dir, send: async (n) => void sent.push(n) }),
        now: () => now,
      });
    const [a, b] = [runner(), runner()];
    await Promise.all([a.record(event('x@example.net')), b.record(event('y@example.net'))]);
    const flushed = await Promise.all([a.flush(), b.flush()]);
    expect(flushed.flat()).toEqual(['red']);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.to).toBe('owner@example.org');
    const text = sent[0]!.raw.toString();
    expect(text).toContain('x@example.net');
    expect(text).toContain('y@example.net');

    await a.record(event('z@example.net'));
    expect(await a.flush()).toEqual([]);
    now += 3_600_000;
    expect(await a.flush()).toEqual(['red']);
    expect(sent).toHaveLength(2);
    expect(sent[1]!.raw.toString()).toContain('z@example.net');
    expect(sent[1]!.raw.toString()).not.toContain('x@example.net');
  });
});
