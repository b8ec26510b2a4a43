import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import createMaildirDistributor from '../../src/distributors/maildir.ts';
import { Discard, Hold, Reject } from '../../src/errors.ts';
import createMaildirFetcher from '../../src/fetchers/maildir.ts';
import { play } from '../../src/play.ts';
import createManyLists from '../../src/processors/many-lists.ts';
import createSingleList from '../../src/processors/single-list.ts';
import type { Distributor, Processor, Reactor } from '../../src/types.ts';
import {
  MemorySource,
  post,
  RecordingDistributor,
  RecordingReactor,
} from '../helpers/memory-units.ts';

const members = ['alice@example.com', 'bob@example.com', 'carol@example.com'];
const red = () =>
  createSingleList({
    name: 'red',
    address: 'red@list.example.com',
    members,
    subject_prefix: '[Red] ',
  });

let stateDir: string;
beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'malist-play-'));
});
afterEach(() => rm(stateDir, { recursive: true, force: true }));

describe('play()', () => {
  it('fetches, processes, distributes, journals and acks every mail', async () => {
    const source = new MemorySource();
    source.add(post({ subject: 'one' }));
    source.add(post({ subject: 'two' }));
    const out = new RecordingDistributor();
    const fetcher = source.fetcher();
    const summary = await play({ fetcher, processor: red(), distributor: out, stateDir });
    expect(summary).toMatchObject({ fetched: 2, distributed: 2, recipients: 6, failed: 0 });
    expect(summary.perList.red).toMatchObject({ distributed: 2, recipients: 6 });
    expect(source.mails.size).toBe(0);
    expect(out.sent.map((s) => s.mail.header.get('Subject'))).toContain('[Red] one');
    expect(out.sent[0]!.mail.ml_sender).toBe('red-bounces@list.example.com');
    expect(fetcher.closed).toBe(1);
  });

  it('quarantines a mail a processor crashes on, acks it, and goes on with the next', async () => {
    const source = new MemorySource();
    source.add(post({ subject: 'poison' }));
    source.add(post({ subject: 'fine' }));
    const crashy: Processor = {
      name: 'crashy',
      async process(mail) {
        if (mail.header.get('Subject') === 'poison')
          throw new TypeError('cannot read property of undefined');
        return mail;
      },
    };
    const reactor = new RecordingReactor();
    const out = new RecordingDistributor();
    const summary = await play({
      fetcher: source.fetcher(),
      processor: [crashy, red()],
      distributor: out,
      reactor,
      stateDir,
    });
    expect(summary).toMatchObject({ fetched: 2, quarantined: 1, distributed: 1 });
    expect(source.mails.size).toBe(0);
    const files = await readdir(join(stateDir, 'quarantine'));
    expect(files.filter((f) => f.endsWith('.eml'))).toHaveLength(1);
    const meta = JSON.parse(
      await readFile(join(stateDir, 'quarantine', files.find((f) => f.endsWith('.json'))!), 'utf8'),
    );
    expect(meta.unit).toBe('crashy');
    expect(meta.reason).toContain('cannot read property');
    expect(reactor.seen).toHaveLength(1);
    expect(reactor.seen[0]).toMatchObject({ stage: 'processor', unit: 'crashy' });
  });

  it('leaves a mail un-acked when a distributor fails, and handles the rest', async () => {
    const source = new MemorySource();
    const bad = source.add(post({ subject: 'explodes' }));
    source.add(post({ subject: 'fine' }));
    const out = new RecordingDistributor((_r, mail) =>
      mail.header.get('Subject')?.includes('explodes') ? 'throw' : 'delivered',
    );
    const reactor = new RecordingReactor();
    const summary = await play({
      fetcher: source.fetcher(),
      processor: red(),
      distributor: out,
      reactor,
      stateDir,
    });
    expect(summary).toMatchObject({ fetched: 2, distributed: 1, failed: 1 });
    expect([...source.mails.keys()]).toEqual([bad]);
    expect(reactor.seen[0]).toMatchObject({ stage: 'distributor', unit: 'recording' });
  });

  it('does not send again after a crash between journal and ack', async () => {
    const source = new MemorySource();
    source.add(post());
    const out = new RecordingDistributor();
    // The first session "crashes" at ack: the mail stays at its source.
    await play({
      fetcher: source.fetcher({ failAck: true }),
      processor: red(),
      distributor: out,
      stateDir,
    });
    expect(source.mails.size).toBe(1);
    const summary = await play({
      fetcher: source.fetcher(),
      processor: red(),
      distributor: out,
      stateDir,
    });
    expect(summary).toMatchObject({ fetched: 1, skipped: 1, distributed: 0 });
    expect(source.mails.size).toBe(0);
    for (const m of members) expect(out.countFor(m)).toBe(1);
  });

  it('retries only the deferred recipients, and acks once all are done', async () => {
    const source = new MemorySource();
    source.add(post());
    let bobUp = false;
    const out = new RecordingDistributor((r) =>
      r === 'bob@example.com' && !bobUp
        ? 'deferred'
        : r === 'carol@example.com'
          ? 'failed'
          : 'delivered',
    );
    const reactor = new RecordingReactor();
    const first = await play({
      fetcher: source.fetcher(),
      processor: red(),
      distributor: out,
      reactor,
      stateDir,
    });
    expect(first).toMatchObject({
      distributed: 0,
      failed: 1,
      deferred: 1,
      refused: 1,
      recipients: 1,
    });
    expect(source.mails.size).toBe(1);
    expect(reactor.seen.map((f) => f.error.message).join('\n')).toMatch(
      /carol@example.com refused[\s\S]*deferred/,
    );
    bobUp = true;
    const second = await play({
      fetcher: source.fetcher(),
      processor: red(),
      distributor: out,
      stateDir,
    });
    expect(second).toMatchObject({ distributed: 1, recipients: 1 });
    expect(source.mails.size).toBe(0);
    expect(out.countFor('alice@example.com')).toBe(1);
    expect(out.countFor('bob@example.com')).toBe(1);
    expect(out.countFor('carol@example.com')).toBe(0);
  });

  it('acks mail a queue took over, and tells the reactors why recipients wait', async () => {
    const source = new MemorySource();
    source.add(post());
    const reactor = new RecordingReactor();
    const queue: Distributor = {
      name: 'queue',
      async distribute(mail) {
        return {
          results: (mail.ml_send_to ?? []).map((recipient) => ({
            recipient,
            status: 'queued' as const,
            distributor: 'queue',
            response: 'connect ECONNREFUSED 127.0.0.1:25',
          })),
        };
      },
    };
    const summary = await play({
      fetcher: source.fetcher(),
      processor: red(),
      distributor: queue,
      reactor,
      stateDir,
    });
    expect(summary).toMatchObject({ distributed: 1, recipients: 3, deferred: 0 });
    expect(source.mails.size).toBe(0);
    expect(reactor.seen).toHaveLength(1);
    expect(reactor.seen[0]!.error.message).toMatch(
      /3 recipient\(s\) queued for a later try: .*ECONNREFUSED/,
    );
  });

  it('stores a held mail durably before acking it, and reports every signal', async () => {
    const source = new MemorySource();
    source.add(post({ from: 'mallory@evil.example' }));
    const reactor = new RecordingReactor();
    const summary = await play({
      fetcher: source.fetcher(),
      processor: red(),
      distributor: new RecordingDistributor(),
      reactor,
      stateDir,
    });
    expect(summary).toMatchObject({ held: 1, distributed: 0 });
    expect(summary.perList.red?.held).toBe(1);
    const held = await readdir(join(stateDir, 'held', 'red'));
    expect(held.filter((f) => f.endsWith('.eml'))).toHaveLength(1);
    expect(source.mails.size).toBe(0);
    expect(reactor.seen[0]!.error).toBeInstanceOf(Hold);
    expect(reactor.seen[0]!.unit).toBe('posting-policy');
  });

  it('counts rejects and discards as handled outcomes', async () => {
    const source = new MemorySource();
    source.add(post({ subject: 'reject me' }));
    source.add(post({ subject: 'discard me' }));
    const decide: Processor = {
      name: 'decide',
      async process(mail) {
        if (mail.header.get('Subject') === 'reject me') throw new Reject('no');
        throw new Discard('loop');
      },
    };
    const summary = await play({
      fetcher: source.fetcher(),
      processor: decide,
      distributor: new RecordingDistributor(),
      stateDir,
    });
    expect(summary).toMatchObject({ rejected: 1, discarded: 1, failed: 0 });
    expect(source.mails.size).toBe(0);
  });

  it('gives every failure to every reactor, and one failing reactor hides nothing', async () => {
    const source = new MemorySource();
    source.add(post({ subject: 'a' }));
    source.add(post({ subject: 'b' }));
    const first = new RecordingReactor('first');
    const broken: Reactor = {
      name: 'broken',
      react() {
        throw new Error('reactor down');
      },
    };
    const last = new RecordingReactor('last');
    const out = new RecordingDistributor(() => 'throw');
    const stderr = process.stderr.write;
    const lines: string[] = [];
    process.stderr.write = ((chunk: string) => {
      lines.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      await play({
        fetcher: source.fetcher(),
        processor: red(),
        distributor: out,
        reactor: [first, broken, last],
        stateDir,
      });
    } finally {
      process.stderr.write = stderr;
    }
    expect(first.seen).toHaveLength(2);
    expect(last.seen).toHaveLength(2);
    expect(lines.join('')).toContain('reactor broken failed');
  });

  it('ends the run on a fetcher error and reports it', async () => {
    const reactor = new RecordingReactor();
    const summary = await play({
      fetcher: {
        name: 'dead',
        fetch: async () => {
          throw new Error('ECONNREFUSED 127.0.0.1:110');
        },
        close: async () => {},
      },
      distributor: new RecordingDistributor(),
      reactor,
      stateDir,
    });
    expect(summary.fetchError?.message).toContain('ECONNREFUSED');
    expect(reactor.seen[0]).toMatchObject({ stage: 'fetcher', unit: 'dead' });
  });
});

describe('play() killed between distributing and journaling (real process, SIGKILL)', () => {
  it('delivers each post to each member once after the restart', async () => {
    const inbox = join(stateDir, 'inbox');
    const outDir = join(stateDir, 'out');
    const state = join(stateDir, 'state');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(inbox, 'new'), { recursive: true });
    for (let i = 0; i < 3; i++)
      await writeFile(join(inbox, 'new', `17000000${i}.x.host`), post({ subject: `post ${i}` }));
    const script = join(import.meta.dirname, '..', 'helpers', 'play-maildir.ts');
    const run = (crashAt?: string) =>
      spawnSync(process.execPath, ['--import', 'tsx', script, inbox, outDir, state], {
        env: { ...process.env, MALIST_CRASH_AT: crashAt ?? '' },
        encoding: 'utf8',
        timeout: 30_000,
      });
    const killed = run('play.after-distribute:2');
    expect(killed.signal).toBe('SIGKILL');
    const again = run();
    expect(again.status, again.stderr).toBe(0);
    expect(await readdir(join(inbox, 'new'))).toEqual([]);
    for (const m of members) {
      const files = await readdir(join(outDir, m, 'new'));
      expect(files, m).toHaveLength(3);
    }
    // And the crash-free reference: the direct API agrees.
    const summary = await play({
      fetcher: createMaildirFetcher({ dir: inbox }),
      processor: red(),
      distributor: createMaildirDistributor({ dir: outDir }),
      stateDir: state,
    });
    expect(summary.fetched).toBe(0);
  });
});

describe('play() with a cross-post', () => {
  it('a list whose delivery failed is retried alone: the other list is not sent again', async () => {
    const blueMembers = ['dan@example.com', 'eve@example.com'];
    const router = createManyLists({
      lists: [
        red(),
        createSingleList({
          name: 'blue',
          address: 'blue@list.example.com',
          members: blueMembers,
          posting: 'open',
        }),
      ],
    });
    const source = new MemorySource();
    source.add(post({ to: 'red@list.example.com, blue@list.example.com', id: 'both' }));
    let blueFails = true;
    const out = new RecordingDistributor((recipient) =>
      blueMembers.includes(recipient) && blueFails ? 'throw' : 'delivered',
    );
    const first = await play({
      fetcher: source.fetcher(),
      processor: router,
      distributor: out,
      stateDir,
    });
    expect(first).toMatchObject({ fetched: 1, failed: 1 });
    expect(source.mails.size).toBe(1); // blue failed: the mail stays at its source
    blueFails = false;
    const second = await play({
      fetcher: source.fetcher(),
      processor: router,
      distributor: out,
      stateDir,
    });
    expect(second).toMatchObject({ fetched: 1, distributed: 1 });
    expect(source.mails.size).toBe(0);
    for (const m of [...members, ...blueMembers]) expect(out.countFor(m), m).toBe(1);
  });
});

describe('play() with concurrency', () => {
  /** A fetcher that records overlaps of fetch() and ack(), around a memory source. */
  function watched(source: MemorySource) {
    const inner = source.fetcher();
    let busy = 0;
    const trace = { overlaps: 0, maxBusy: 0 };
    const enter = async <T>(fn: () => Promise<T>) => {
      busy++;
      if (busy > 1) trace.overlaps++;
      await new Promise((r) => setTimeout(r, 1));
      try {
        return await fn();
      } finally {
        busy--;
      }
    };
    return {
      trace,
      fetcher: {
        name: 'memory',
        fetch: () =>
          enter(async () => {
            const fetched = await inner.fetch();
            return { ...fetched, ack: () => enter(() => fetched.ack()) };
          }),
        close: () => inner.close(),
      },
    };
  }

  /**
   * A distributor that holds the first mail until a second one is in it too, so that mails
   * overlap by construction rather than by timing (a run that never overlaps them hangs and
   * fails), and counts how many are in it at once.
   */
  function slow(out: RecordingDistributor): Distributor & { maxAtOnce: number } {
    let now = 0;
    let open = () => {};
    const overlapped = new Promise<void>((resolve) => {
      open = resolve;
    });
    const d = {
      name: 'slow',
      maxAtOnce: 0,
      async distribute(mail: Parameters<Distributor['distribute']>[0]) {
        now++;
        d.maxAtOnce = Math.max(d.maxAtOnce, now);
        if (now > 1) open();
        await overlapped;
        now--;
        return out.distribute(mail);
      },
    };
    return d;
  }

  it('handles several mails at once; fetch and ack never overlap; every mail once', async () => {
    const source = new MemorySource();
    for (let i = 0; i < 12; i++) source.add(post({ subject: `n${i}`, id: `c${i}` }));
    const out = new RecordingDistributor();
    const distributor = slow(out);
    const { fetcher, trace } = watched(source);
    const summary = await play({
      fetcher,
      processor: red(),
      distributor,
      stateDir,
      concurrency: 4,
    });
    expect(summary).toMatchObject({ fetched: 12, distributed: 12, recipients: 36, failed: 0 });
    expect(distributor.maxAtOnce).toBeGreaterThan(1);
    expect(distributor.maxAtOnce).toBeLessThanOrEqual(4);
    expect(trace.overlaps).toBe(0);
    expect(source.mails.size).toBe(0);
    for (const m of members) expect(out.countFor(m)).toBe(12);
  });

  it('two mails with the same bytes never run at once: the second is skipped by the journal', async () => {
    const source = new MemorySource();
    const same = post({ subject: 'twice', id: 'same' });
    source.add(same);
    source.add(post({ subject: 'other', id: 'other' }));
    source.add(same);
    const out = new RecordingDistributor();
    const summary = await play({
      fetcher: source.fetcher(),
      processor: red(),
      distributor: slow(out),
      stateDir,
      concurrency: 3,
    });
    expect(summary).toMatchObject({ fetched: 3, distributed: 2, skipped: 1 });
    for (const m of members) expect(out.countFor(m)).toBe(2);
    expect(source.mails.size).toBe(0);
  });

  it('a failing mail among concurrent ones stays at its source; the others are acked', async () => {
    const source = new MemorySource();
    for (let i = 0; i < 6; i++)
      source.add(post({ subject: i === 3 ? 'boom' : `ok${i}`, id: `f${i}` }));
    const out = new RecordingDistributor((_r, mail) =>
      mail.header.get('Subject')?.includes('boom') ? 'throw' : 'delivered',
    );
    const summary = await play({
      fetcher: source.fetcher(),
      processor: red(),
      distributor: slow(out),
      stateDir,
      concurrency: 4,
    });
    expect(summary).toMatchObject({ fetched: 6, distributed: 5, failed: 1 });
    expect([...source.mails.values()].map((b) => b.toString())).toEqual([
      expect.stringContaining('Subject: boom'),
    ]);
  });
});
