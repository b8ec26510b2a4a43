import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type HeldDeps, runHeld } from '../../src/cli/held.ts';
import { NothingMore } from '../../src/errors.ts';
import type { ListSettings } from '../../src/list/settings.ts';
import { mailBytes } from '../../src/mail/list-mail.ts';
import { play } from '../../src/play.ts';
import createSingleList from '../../src/processors/single-list.ts';
import type { Fetched, ListMail } from '../../src/types.ts';
import { MemorySource, RecordingDistributor } from '../helpers/memory-units.ts';
import { fixture } from './corpus.ts';

const list: ListSettings = {
  name: 'red',
  address: 'red@list.example.com',
  members: ['alice@example.com', 'bob@example.org'],
  posting: 'members',
  non_member_action: 'hold',
  subject_prefix: '[Red] ',
};

class Sink {
  private chunks: string[] = [];
  write(text: string) {
    this.chunks.push(text);
  }
  /** What was written since the last call. */
  take(): string {
    return this.chunks.splice(0).join('');
  }
}

function text(sink: Sink): string {
  return sink.take();
}

describe('malist held', () => {
  let dir: string;
  let out: RecordingDistributor;
  let deps: HeldDeps & { out: Sink; err: Sink };
  const single = () => createSingleList({ ...list, state_dir: dir });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'malist-held-'));
    out = new RecordingDistributor();
    deps = {
      stateDir: dir,
      lists: [list],
      pipeline: (name) => (name === 'red' ? single() : undefined),
      deliver: async (mails: ListMail[]) => {
        const queue = [...mails];
        const fetcher = {
          name: 'held-test',
          fetch: async (): Promise<Fetched> => {
            const mail = queue.shift();
            if (!mail) throw new NothingMore();
            return { mail, ack: async () => {} };
          },
          close: async () => {},
        };
        await play({ fetcher, distributor: out, stateDir: dir });
      },
      out: new Sink(),
      err: new Sink(),
    };
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  async function holdFixture(prefix: string): Promise<void> {
    const source = new MemorySource();
    source.add(
      fixture(prefix)
        .toString('latin1')
        .replace(/^To: .*$/m, 'To: red@list.example.com'),
    );
    const summary = await play({
      fetcher: source.fetcher(),
      processor: single(),
      distributor: out,
      stateDir: dir,
    });
    expect(summary.held).toBe(1);
  }

  it('lists, approves once (journaled delivery), and refuses a second decision', async () => {
    await holdFixture('026'); // a non-member's multipart post
    expect(await runHeld(['list'], deps)).toBe(0);
    const table = text(deps.out);
    expect(table).toMatch(/^ID\s+LIST\s+AGE\s+FROM\s+SUBJECT\s+REASON/);
    expect(table).toMatch(/is not a member/);
    const id = table.split('\n')[1]!.split(/\s+/)[0]!;
    expect(await runHeld(['approve', id], deps)).toBe(0);
    expect(text(deps.out)).toMatch(/^red: .* was approved and sent to the list/);
    expect(out.sent.map((s) => s.recipient).sort()).toEqual([
      'alice@example.com',
      'bob@example.org',
    ]);
    const parsed = await simpleParser(mailBytes(out.sent[0]!.mail));
    expect(parsed.subject).toMatch(/^\[Red\] Nodemailer is unicode friendly/);
    expect(await runHeld(['approve', id], deps)).toBe(1);
    expect(text(deps.err)).toMatch(/already approved/);
    expect(out.sent).toHaveLength(2);
    expect(await runHeld(['list'], deps)).toBe(0);
    expect(text(deps.out).trim().split('\n')).toHaveLength(1);
  });

  it('shows one post (reason, size, headers, first lines); list and show as JSON; whole reasons with --wide', async () => {
    await holdFixture('026');
    expect(await runHeld(['list', '--json'], deps)).toBe(0);
    const { held } = JSON.parse(text(deps.out));
    expect(held).toHaveLength(1);
    expect(held[0]).toMatchObject({ list: 'red', unit: expect.any(String) });
    const reason: string = held[0].reason;
    expect(reason).toMatch(/is not a member of red@list\.example\.com/);
    const id: string = held[0].id;

    expect(await runHeld(['list', '--wide'], deps)).toBe(0);
    const wide = text(deps.out);
    expect(wide).toContain(reason);
    expect(wide).toContain(id);
    expect(await runHeld(['list'], deps)).toBe(0);
    const narrow = text(deps.out).split('\n')[1]!;
    // Cut cells end in a marker; never silently.
    if (reason.length > 60) expect(narrow).toContain(`${reason.slice(0, 59)}…`);
    else expect(narrow).toContain(reason);

    expect(await runHeld(['show', id.slice(0, 10), '--lines', '3'], deps)).toBe(0);
    const shown = text(deps.out);
    expect(shown).toContain(`ID:      ${id}`);
    expect(shown).toContain(`Reason:  ${reason}`);
    expect(shown).toMatch(/^Size: {4}\d+ bytes$/m);
    expect(shown).toMatch(/^Subject: /m);
    expect(shown).toMatch(/^\[… \d+ more lines\]$/m);

    expect(await runHeld(['show', id, '--json', '--lines', '2'], deps)).toBe(0);
    const post = JSON.parse(text(deps.out));
    expect(post).toMatchObject({ id, reason, decided: false });
    expect(post.size).toBeGreaterThan(100);
    expect(post.headers.some((h: string) => h.startsWith('Subject:'))).toBe(true);
    expect(post.body_lines).toHaveLength(2);

    expect(await runHeld(['show', 'nope'], deps)).toBe(1);
    expect(text(deps.err)).toMatch(/no held post/);
  });

  it('rejects with a notice to the poster, and discards silently', async () => {
    await holdFixture('013');
    await runHeld(['list'], deps);
    const id = text(deps.out).split('\n')[1]!.split(/\s+/)[0]!;
    const code = await runHeld(['reject', id], deps);
    expect(text(deps.err)).toBe('');
    expect(code).toBe(0);
    expect(text(deps.out)).toMatch(/was rejected/);
    expect(out.sent.map((s) => s.recipient)).toEqual(['test@lindsaar.net']);
    const notice = await simpleParser(mailBytes(out.sent[0]!.mail));
    expect(notice.subject).toMatch(/was rejected/);
    expect(notice.headers.get('auto-submitted')).toBe('auto-replied');
    await holdFixture('004');
    await runHeld(['list'], deps);
    const second = text(deps.out).split('\n')[1]!.split(/\s+/)[0]!;
    expect(await runHeld(['discard', second], deps)).toBe(0);
    expect(out.sent).toHaveLength(1);
    expect(await runHeld(['approve', 'nope'], deps)).toBe(1);
  });

  it('expires old posts and tells their posters', async () => {
    await holdFixture('001');
    deps.now = () => Date.now() + 15 * 86_400_000;
    expect(await runHeld(['expire'], deps)).toBe(0);
    expect(text(deps.out)).toContain('red: 1 expired');
    expect(out.sent.map((s) => s.recipient)).toEqual(['bbb@ddd.com']);
  });
});
