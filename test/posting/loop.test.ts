/**
 * Two malist lists that include each other: a post goes round at most once. By default
 * the second list holds list traffic (another list's List-Id) for its moderator; when it
 * accepts relayed posts (`automated: { relayed: accept }`), the first list recognises its
 * own X-Loop when the post comes back (the second list replaced its List-Id), so it still
 * stops.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ListSettings } from '../../src/list/settings.ts';
import { sameAddress } from '../../src/mail/address.ts';
import { mailBytes } from '../../src/mail/list-mail.ts';
import { play } from '../../src/play.ts';
import createSingleList, { type SingleList } from '../../src/processors/single-list.ts';
import { MemorySource, RecordingDistributor } from '../helpers/memory-units.ts';
import { fixture } from './corpus.ts';

const A: ListSettings = {
  name: 'a',
  address: 'a@list.example.com',
  members: ['alice@example.com', 'b@lists.other.example'],
  posting: 'members',
  subject_prefix: '[A] ',
};
const B: ListSettings = {
  name: 'b',
  address: 'b@lists.other.example',
  members: ['bob@example.org', 'a@list.example.com'],
  posting: 'open',
  subject_prefix: '[B] ',
};

describe('two lists that include each other', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'malist-loop-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  /** Delivers like an MTA: mail for a list address goes to that list's mailbox. */
  async function run(lists: SingleList[], first: Buffer, maxHops = 10) {
    const people: { recipient: string; subject: string }[] = [];
    const hops: { list: string; outcome: string; reason?: string }[] = [];
    let queue: { list: SingleList; raw: Buffer }[] = [{ list: lists[0]!, raw: first }];
    for (let hop = 0; hop < maxHops && queue.length > 0; hop++) {
      const next: typeof queue = [];
      for (const item of queue) {
        const source = new MemorySource();
        source.add(item.raw);
        const out = new RecordingDistributor();
        await play({
          fetcher: source.fetcher(),
          processor: item.list,
          distributor: out,
          stateDir: join(dir, item.list.list.name),
          onOutcome: (e) => hops.push({ list: e.list, outcome: e.outcome, reason: e.reason }),
        });
        for (const { recipient, mail } of out.sent) {
          const target = lists.find((l) => sameAddress(l.list.address, recipient));
          if (!target) {
            people.push({ recipient, subject: mail.header.getDecoded('Subject') ?? '' });
            continue;
          }
          const bytes = Buffer.concat([
            Buffer.from(`Delivered-To: ${recipient}\r\n`),
            mailBytes(mail),
          ]);
          next.push({ list: target, raw: bytes });
        }
      }
      queue = next;
    }
    return { people, hops, left: queue.length };
  }

  const post = () =>
    Buffer.from(
      fixture('001')
        .toString('latin1')
        .replace(/^From: .*$/m, 'From: Alice <alice@example.com>')
        .replace(/^To: .*$/m, 'To: a@list.example.com'),
      'latin1',
    );

  it('stops after one hop: the second list holds list traffic for its moderator', async () => {
    const result = await run([createSingleList(A), createSingleList(B)], post());
    expect(result.left).toBe(0);
    expect(result.people).toEqual([
      { recipient: 'alice@example.com', subject: '[A] This is a test message' },
    ]);
    expect(result.hops.map((h) => `${h.list}:${h.outcome}`)).toEqual(['a:distributed', 'b:held']);
    expect(result.hops[1]!.reason).toMatch(/relayed by the list <a\.list\.example\.com>/);
  });

  it('stops when the post comes back, by X-Loop, when list traffic is let through', async () => {
    const open = { automated: { relayed: 'accept' } };
    const lists = [
      createSingleList({ ...A, unit_options: open }),
      createSingleList({ ...B, unit_options: open }),
    ];
    const result = await run(lists, post());
    expect(result.left).toBe(0);
    expect(result.hops.map((h) => `${h.list}:${h.outcome}`)).toEqual([
      'a:distributed',
      'b:distributed',
      'a:discarded',
    ]);
    expect(result.hops[2]!.reason).toMatch(/X-Loop: a@list\.example\.com/);
    expect(result.people.map((p) => p.recipient).sort()).toEqual([
      'alice@example.com',
      'bob@example.org',
    ]);
    expect(result.people.find((p) => p.recipient === 'bob@example.org')!.subject).toBe(
      '[B] [A] This is a test message',
    );
  });
});
