/**
 * The queue-store contract (src/queue/store.ts), run against both backends: the file spool
 * and PostgreSQL (a real server this file starts). The queue on top is the same code; only
 * the store differs. A transport in memory answers per recipient and counts every send, so
 * "never twice" is counted, not assumed.
 */
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFileStore } from '../../src/queue/file-store.ts';
import { createPgStore, type PgQueueStore } from '../../src/queue/pg-store.ts';
import { createQueue, type Queue } from '../../src/queue/queue.ts';
import type { QueueStore, StoreClaim } from '../../src/queue/store.ts';
import type { SendJob, Transport } from '../../src/queue/transport.ts';
import { currentHolder, formatHolder } from '../../src/state/lock.ts';
import { type Database, openDatabase } from '../../src/state/pg.ts';
import type { RecipientResult, StageFailure } from '../../src/types.ts';
import { type Postgres, postgresAvailable, startPostgres } from '../helpers/postgres.ts';
import { tempDir } from './helpers.ts';

const hasPostgres = postgresAvailable();

/** Answers by recipient (`250` unless told), counts every recipient sent to. */
function memoryTransport() {
  const sent = new Map<string, number>();
  const answers = new Map<string, { code: number; response: string }>();
  let crashAfterLog = false;
  const transport: Transport & {
    sent: typeof sent;
    answers: typeof answers;
    crashAfterLog(): void;
  } = {
    name: 'memory',
    sent,
    answers,
    crashAfterLog() {
      crashAfterLog = true;
    },
    async send(job: SendJob) {
      const results: RecipientResult[] = job.to.map((to) => {
        sent.set(to, (sent.get(to) ?? 0) + 1);
        const answer = answers.get(to) ?? { code: 250, response: '250 2.0.0 ok' };
        const status = answer.code < 300 ? 'delivered' : answer.code < 500 ? 'deferred' : 'failed';
        return { recipient: to, status, distributor: 'memory', ...answer } as RecipientResult;
      });
      await job.onTransaction?.(results);
      if (crashAfterLog) {
        crashAfterLog = false;
        // As if the process died right after the sent-log: nothing else is recorded.
        throw new Error('simulated crash after the sent-log');
      }
      return results;
    },
    async close() {},
  };
  return transport;
}

interface Backend {
  name: 'files' | 'postgres';
  /** A fresh place for one test; `open` makes a store (a worker) on it. */
  fresh(): Promise<{ open(batch?: number): QueueStore; done(): Promise<void> }>;
  /** Makes the holder of `store`'s claims provably gone (its process or session dies). */
  killHolder(store: QueueStore, id: string): Promise<void>;
}

let pg: Postgres | undefined;
let dbCount = 0;

const files: Backend = {
  name: 'files',
  async fresh() {
    const temp = await tempDir();
    return { open: () => createFileStore(temp.dir), done: temp.remove };
  },
  async killHolder(store, id) {
    // The claim renamed to this host, a PID that is ours but a start time that is not: a
    // process that is gone (what a SIGKILL leaves behind).
    const cur = join(store.where, 'cur');
    const mine = `${id}@${formatHolder(currentHolder())}`;
    const holder = { ...currentHolder(), start: '1' };
    await rename(join(cur, mine), join(cur, `${id}@${formatHolder(holder)}`));
  },
};

const postgres: Backend = {
  name: 'postgres',
  async fresh() {
    if (!pg) throw new Error('PostgreSQL was not started');
    const url = await pg.createDatabase(`contract_${++dbCount}`);
    const dbs: Database[] = [];
    return {
      open(batch) {
        const db = openDatabase(url);
        void db.then((d) => dbs.push(d));
        return createPgStore(db, batch ? { claimBatch: batch } : {});
      },
      async done() {
        await Promise.all(dbs.map((d) => d.close()));
      },
    };
  },
  async killHolder(store) {
    // The worker's database session dies (what a SIGKILL of its process does): its lease,
    // the advisory lock, is freed by PostgreSQL itself.
    const id = (store as PgQueueStore).workerId();
    pg?.psql(
      `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = ${id} AND objsubid = 2`,
      `contract_${dbCount}`,
    );
  },
};

const backends = hasPostgres ? [files, postgres] : [files];

function queueOn(store: QueueStore, transport: Transport, clock: { t: number }) {
  const notices: StageFailure[] = [];
  const queue = createQueue(
    {
      dir: store.where,
      retry: { initial_seconds: 60, factor: 2, max_seconds: 3600 },
      expire_after_seconds: 86_400,
    },
    { transport, store, now: () => clock.t, onFailure: (f) => void notices.push(f) },
  );
  return { queue, notices };
}

const members = (n: number, domain = 'example.test') =>
  Array.from({ length: n }, (_, i) => `m${String(i).padStart(4, '0')}@${domain}`);

const entry = (id: string, recipients: string[]) => ({
  id,
  raw: Buffer.from(`Message-ID: <${id}@example.test>\r\nSubject: hi\r\n\r\nbody\r\n`),
  sender: 'red-bounces@list.example.test',
  recipients,
  list: 'red',
  messageId: `<${id}@example.test>`,
});

describe.each(backends)('queue store contract: $name', (backend) => {
  beforeAll(async () => {
    if (backend.name === 'postgres') pg ??= await startPostgres();
  }, 120_000);
  afterAll(async () => {
    if (backend.name === 'postgres') await pg?.stop();
  });

  async function setup(batch?: number) {
    const place = await backend.fresh();
    const clock = { t: Date.UTC(2026, 0, 1) };
    const transport = memoryTransport();
    const store = place.open(batch);
    const { queue, notices } = queueOn(store, transport, clock);
    const opened: Queue[] = [queue];
    return {
      place,
      clock,
      transport,
      store,
      queue,
      notices,
      /** Another worker on the same place. */
      worker(otherBatch?: number) {
        const other = place.open(otherBatch);
        const q = queueOn(other, transport, clock);
        opened.push(q.queue);
        return { store: other, ...q };
      },
      async close() {
        for (const q of opened) await q.close().catch(() => {});
        await place.done();
      },
    };
  }

  it('enqueues, delivers at once, and an ID seen before is never sent again', async () => {
    const t = await setup();
    try {
      const first = await t.queue.enqueue(entry('e1', members(5)));
      expect(first.outcome.status).toBe('queued');
      expect(first.results.map((r) => r.status)).toEqual(Array(5).fill('delivered'));
      const again = await t.queue.enqueue(entry('e1', members(5)));
      expect(again.outcome.status).toBe('done');
      expect(again.results.every((r) => r.status === 'delivered')).toBe(true);
      expect([...t.transport.sent.values()]).toEqual(Array(5).fill(1));
      expect(await t.queue.list()).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('dedupes an entry enqueued twice before it is delivered', async () => {
    const t = await setup();
    try {
      const a = await t.queue.enqueue(entry('e2', members(3)), { deliverNow: false });
      const b = await t.queue.enqueue(entry('e2', members(3)), { deliverNow: false });
      expect([a.outcome.status, b.outcome.status]).toEqual(['queued', 'exists']);
      const listed = await t.queue.list();
      expect(listed.map((e) => [e.id, e.where, e.envelope.recipients.length])).toEqual([
        ['e2', 'new', 3],
      ]);
      const run = await t.queue.run();
      expect(run.delivered).toBe(3);
      expect(t.transport.sent.size).toBe(3);
    } finally {
      await t.close();
    }
  });

  it('retries a deferred recipient only, when due; refuses and expires into dead letters', async () => {
    const t = await setup();
    const [ok, later, refused, never] = members(4);
    t.transport.answers.set(later as string, { code: 451, response: '451 4.3.0 try later' });
    t.transport.answers.set(refused as string, { code: 550, response: '550 5.1.1 no such user' });
    t.transport.answers.set(never as string, { code: 451, response: '451 4.3.0 never' });
    try {
      const { results } = await t.queue.enqueue(
        entry('e3', [ok, later, refused, never] as string[]),
      );
      expect(results.map((r) => r.status)).toEqual(['delivered', 'queued', 'failed', 'queued']);
      expect(t.notices).toHaveLength(1);
      // Not due yet: nothing is sent.
      expect((await t.queue.run()).processed).toBe(0);
      t.transport.answers.delete(later as string);
      t.clock.t += 61_000;
      const run = await t.queue.run();
      expect([run.delivered, run.deferred]).toEqual([1, 1]);
      expect(t.transport.sent.get(ok as string)).toBe(1);
      expect(t.transport.sent.get(later as string)).toBe(2);
      // Past expiry: the one still deferred is given up on, with a dead letter.
      t.clock.t += 86_400_000;
      await t.queue.run();
      const dead = (await t.queue.list()).filter((e) => e.where === 'dead');
      expect(dead).toHaveLength(1);
      const failed = dead[0]?.envelope.recipients.filter((r) => r.state === 'failed');
      expect(failed?.map((r) => r.address).sort()).toEqual([never, refused].sort());
      expect(t.notices).toHaveLength(2);
      const done = await t.store.readDone('e3');
      expect(done?.recipients.map((r) => r.state)).toEqual([
        'delivered',
        'delivered',
        'failed',
        'failed',
      ]);
      expect(await t.queue.drop('e3')).toBe('removed-dead-letter');
      expect((await t.queue.list()).length).toBe(0);
    } finally {
      await t.close();
    }
  });

  it('writes the sent-log before settling: a round cut short after it sends nobody twice', async () => {
    const t = await setup();
    try {
      await t.queue.enqueue(entry('e4', members(6)), { deliverNow: false });
      t.transport.crashAfterLog();
      const cut = await t.queue.run();
      expect(cut.errors).toHaveLength(1);
      // Nothing but the sent-log was recorded; the next run settles from it and sends nothing.
      const next = await t.queue.run({ force: true });
      expect(next.errors).toEqual([]);
      expect([...t.transport.sent.values()]).toEqual(Array(6).fill(1));
      expect((await t.store.readDone('e4'))?.recipients.every((r) => r.state === 'delivered')).toBe(
        true,
      );
    } finally {
      await t.close();
    }
  });

  it("reclaims a claim whose holder died, and skips who is in the holder's sent-log", async () => {
    const t = await setup();
    const rcpts = members(8);
    try {
      await t.queue.enqueue(entry('e5', rcpts), { deliverNow: false });
      await t.store.ready();
      const claim = await t.store.claim('e5');
      expect(claim).toBeDefined();
      if (!claim) return;
      // The holder got replies for three recipients and died before settling anything.
      const log = t.store.sentLogAppender(claim, { id: 'e5' });
      const three = rcpts
        .slice(0, 3)
        .map(
          (r) => ({ recipient: r, status: 'delivered', distributor: 'memory', code: 250 }) as const,
        );
      for (const r of three) t.transport.sent.set(r.recipient, 1);
      await log.append(three, t.clock.t);
      await log.close();
      // Alive, its claim is left alone.
      const other = t.worker();
      expect((await other.queue.run()).reclaimed).toBe(0);
      await backend.killHolder(t.store, 'e5');
      const run = await other.queue.run();
      expect(run.reclaimed).toBe(1);
      expect(run.delivered).toBe(5);
      expect(rcpts.map((r) => t.transport.sent.get(r))).toEqual(Array(8).fill(1));
      expect(
        (await other.store.readDone('e5'))?.recipients.every((r) => r.state === 'delivered'),
      ).toBe(true);
    } finally {
      await t.close();
    }
  });

  it('never gives one recipient to two claimers at once', async () => {
    const t = await setup(25);
    const rcpts = members(300);
    try {
      await t.queue.enqueue(entry('e6', rcpts), { deliverNow: false });
      const workers = [t.store, t.worker(25).store, t.worker(25).store];
      await Promise.all(workers.map((s) => s.ready()));
      const held = new Map<string, number>();
      const take = async (s: QueueStore, w: number) => {
        const c = await s.claim('e6');
        if (!c) return undefined;
        for (const r of (await s.read(c)).envelope.recipients) {
          expect(held.get(r.address), `${r.address} claimed twice`).toBeUndefined();
          held.set(r.address, w);
        }
        return c;
      };
      // One claim each in turn: files give the entry to the first claimer only; PostgreSQL
      // gives each worker a batch of its own while the others' are still held.
      const firsts: Array<StoreClaim | undefined> = [];
      for (const [w, s] of workers.entries()) firsts.push(await take(s, w));
      expect(firsts.map((c) => c !== undefined)).toEqual(
        backend.name === 'postgres' ? [true, true, true] : [true, false, false],
      );
      // Then all at once until nothing is left, without settling: every claim stays live.
      await Promise.all(
        workers.map(async (s, w) => {
          for (let c = firsts[w]; c?.partial; ) c = await take(s, w);
        }),
      );
      expect(held.size).toBe(300);
    } finally {
      await t.close();
    }
  });

  it("an operator's drop gives up every pending recipient, in every batch", async () => {
    const t = await setup(100);
    try {
      await t.queue.enqueue(entry('e8', members(250)), { deliverNow: false });
      expect(await t.queue.drop('e8')).toBe('dropped');
      expect(t.transport.sent.size).toBe(0);
      const dead = (await t.queue.list()).filter((e) => e.where === 'dead');
      expect(dead.map((e) => e.envelope.recipients.length)).toEqual([250]);
      const done = await t.store.readDone('e8');
      expect(done?.recipients.every((r) => r.state === 'failed')).toBe(true);
      expect(await t.queue.drop('e8')).toBe('removed-dead-letter');
      expect(await t.queue.drop('e8')).toBe('unknown');
    } finally {
      await t.close();
    }
  });

  it('several workers fan one post out together, each recipient once', async () => {
    const t = await setup(20);
    const rcpts = members(200);
    try {
      await t.queue.enqueue(entry('e7', rcpts), { deliverNow: false });
      const runs = await Promise.all(
        [t.queue, t.worker(20).queue, t.worker(20).queue].map((q) => q.run()),
      );
      expect(runs.reduce((n, r) => n + r.delivered, 0)).toBe(200);
      expect(rcpts.map((r) => t.transport.sent.get(r))).toEqual(Array(200).fill(1));
      expect((await t.store.readDone('e7'))?.recipients.length).toBe(200);
    } finally {
      await t.close();
    }
  });
});
