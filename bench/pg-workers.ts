/**
 * VERP fan-out by 1, 2 and 4 queue worker processes sharing one PostgreSQL database, and
 * the file spool for comparison (`npm run bench -- --pg`): one post to N members is
 * enqueued, then the workers (bench/pg-worker.ts, each its own process and pool) start
 * sending at the same moment; the row is recipients a second from that moment to the last
 * worker's end, and each worker's peak RSS. The sink (bench/sink.ts) counts at the wire.
 * PostgreSQL runs with its default durability (fsync on): every sent-log row is a commit.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileStore } from '../src/queue/file-store.ts';
import { createPgStore } from '../src/queue/pg-store.ts';
import { createQueue } from '../src/queue/queue.ts';
import type { QueueStore } from '../src/queue/store.ts';
import { openDatabase } from '../src/state/pg.ts';
import { startPostgres } from '../test/helpers/postgres.ts';
import type { Sink } from './sink.ts';

export interface FanoutRow {
  case: string;
  n: number;
  perSecond: number;
  wallMs: number;
  rssMb: number[];
  note: string;
}

interface WorkerOut {
  t0: number;
  t1: number;
  delivered: number;
  rssMb: number;
}

const root = join(import.meta.dirname, '..');

async function enqueueOne(store: QueueStore, n: number): Promise<void> {
  const queue = createQueue(
    { dir: store.where, deliver_now: false },
    { store, transport: { name: 'none', send: async () => [], close: async () => {} } },
  );
  const body = 'x'.repeat(5 * 1024);
  await queue.enqueue({
    id: `fanout-${Date.now()}`,
    raw: Buffer.from(
      `From: poster@example.test\r\nTo: bench@list.example.test\r\nSubject: fan-out\r\nMessage-ID: <fanout-${Date.now()}@example.test>\r\n\r\n${body}\r\n`,
    ),
    sender: 'bench-bounces@list.example.test',
    recipients: Array.from({ length: n }, (_, i) => `m${i}@members.example.test`),
    list: 'bench',
  });
  await queue.close();
}

/** Starts `k` workers, says go when all are ready, waits for their reports. */
async function runWorkers(
  k: number,
  input: object,
): Promise<{ wallMs: number; outs: WorkerOut[] }> {
  let go = 0;
  const children = Array.from({ length: k }, () =>
    spawn(process.execPath, ['--import', 'tsx', 'bench/pg-worker.ts', JSON.stringify(input)], {
      cwd: root,
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  );
  const ready: Promise<void>[] = [];
  const done = children.map(
    (c, i) =>
      new Promise<WorkerOut>((resolve, reject) => {
        let out = '';
        let signalReady!: () => void;
        ready[i] = new Promise((r) => {
          signalReady = r;
        });
        c.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('ready\n')) signalReady();
        });
        c.on('close', (code) => {
          const last = out.trim().split('\n').pop() ?? '';
          if (code === 0) resolve(JSON.parse(last) as WorkerOut);
          else reject(new Error(`worker ${i} exited with ${code}`));
        });
      }),
  );
  await Promise.all(ready);
  go = performance.timeOrigin + performance.now();
  for (const c of children) c.stdin.write('go\n');
  const outs = await Promise.all(done);
  return { wallMs: Math.max(...outs.map((o) => o.t1)) - go, outs };
}

export async function pgFanoutRows(sink: Sink, n: number): Promise<FanoutRow[]> {
  const rows: FanoutRow[] = [];
  const work = await mkdtemp(join(tmpdir(), 'malist-bench-pg-'));
  const pg = await startPostgres({ maxConnections: 200 });
  try {
    const record = (
      name: string,
      k: number,
      r: { wallMs: number; outs: WorkerOut[] },
      note: string,
    ) => {
      if (sink.stats.recipients !== n)
        throw new Error(`${name}: the sink got ${sink.stats.recipients} of ${n}`);
      rows.push({
        case: `${name}, ${k} worker${k > 1 ? 's' : ''}`,
        n,
        perSecond: (n / r.wallMs) * 1000,
        wallMs: r.wallMs,
        rssMb: r.outs.map((o) => o.rssMb),
        note: `${note}; delivered per worker ${r.outs.map((o) => o.delivered).join('/')}`,
      });
    };
    // Files: one entry is one claim, so one runner fans a post out whatever runs beside it.
    sink.reset();
    const dir = join(work, 'spool');
    await enqueueOne(createFileStore(dir), n);
    record(
      'VERP fan-out on files',
      1,
      await runWorkers(1, { backend: 'files', dir, port: sink.port }),
      'one spool entry',
    );
    for (const k of [1, 2, 4]) {
      sink.reset();
      const url = await pg.createDatabase(`fanout_${k}`);
      const db = await openDatabase(url);
      await enqueueOne(createPgStore(db), n);
      await db.close();
      const r = await runWorkers(k, {
        backend: 'postgres',
        url,
        dir: join(work, `w${k}`),
        port: sink.port,
      });
      record('VERP fan-out on PostgreSQL', k, r, 'batches of 100 recipient rows');
    }
  } finally {
    await pg.stop();
    await rm(work, { recursive: true, force: true });
  }
  return rows;
}
