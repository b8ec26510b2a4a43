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
import { load1, type PgCounters, postgresCounters, postgresCpuMs, selfCpuMs } from './proc-cpu.ts';
import type { Sink } from './sink.ts';

export interface FanoutRow {
  case: string;
  n: number;
  perSecond: number;
  wallMs: number;
  rssMb: number[];
  /** CPU µs a recipient: the workers together, PostgreSQL, the sink. */
  cpuUs: { workers: number; postgres: number; sink: number };
  /** PostgreSQL's commits and WAL flushes (pg_stat_database, pg_stat_wal) a recipient. */
  commits?: number;
  walSyncs?: number;
  load: string;
  note: string;
}

export interface FanoutOptions {
  /** Recipient rows a claim takes. @default 100 */
  batch?: number;
  /** SMTP connections per worker. @default 8 */
  connections?: number;
  /** Worker counts on PostgreSQL. @default [1, 2, 4] */
  workers?: number[];
}

interface WorkerOut {
  t0: number;
  t1: number;
  delivered: number;
  cpuMs: number;
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
  pgData?: string,
): Promise<{ wallMs: number; outs: WorkerOut[]; sinkMs: number; pgMs: number }> {
  let go = 0;
  // BENCH_CPU_PROF=DIR: each worker writes a V8 CPU profile there (node --cpu-prof).
  const dir = process.env.BENCH_CPU_PROF;
  const profile = dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
  const children = Array.from({ length: k }, () =>
    spawn(
      process.execPath,
      [...profile, '--import', 'tsx', 'bench/pg-worker.ts', JSON.stringify(input)],
      {
        cwd: root,
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    ),
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
  // This process is the sink while the workers run: its CPU meanwhile is the sink's.
  const sink0 = selfCpuMs();
  const pg0 = pgData ? postgresCpuMs(pgData) : 0;
  go = performance.timeOrigin + performance.now();
  for (const c of children) c.stdin.write('go\n');
  const outs = await Promise.all(done);
  return {
    wallMs: Math.max(...outs.map((o) => o.t1)) - go,
    outs,
    sinkMs: selfCpuMs() - sink0,
    pgMs: pgData ? postgresCpuMs(pgData) - pg0 : 0,
  };
}

export async function pgFanoutRows(
  sink: Sink,
  n: number,
  options: FanoutOptions = {},
): Promise<FanoutRow[]> {
  const tuning = {
    ...(options.batch ? { batch: options.batch } : {}),
    ...(options.connections ? { connections: options.connections } : {}),
  };
  const pgData = (dir: string) => join(dir, 'data');
  const rows: FanoutRow[] = [];
  const work = await mkdtemp(join(tmpdir(), 'malist-bench-pg-'));
  const pg = await startPostgres({ maxConnections: 200 });
  try {
    const record = (
      name: string,
      k: number,
      r: Awaited<ReturnType<typeof runWorkers>>,
      note: string,
      stats?: [PgCounters, PgCounters],
    ) => {
      const us = (ms: number) => Math.round((ms * 1000) / n);
      if (sink.stats.recipients !== n)
        throw new Error(`${name}: the sink got ${sink.stats.recipients} of ${n}`);
      rows.push({
        ...(stats
          ? {
              commits: Number(((stats[1].commits - stats[0].commits) / n).toFixed(2)),
              walSyncs: Number(((stats[1].syncs - stats[0].syncs) / n).toFixed(2)),
            }
          : {}),
        case: `${name}, ${k} worker${k > 1 ? 's' : ''}`,
        n,
        perSecond: (n / r.wallMs) * 1000,
        wallMs: r.wallMs,
        rssMb: r.outs.map((o) => o.rssMb),
        cpuUs: {
          workers: us(r.outs.reduce((a, o) => a + o.cpuMs, 0)),
          postgres: us(r.pgMs),
          sink: us(r.sinkMs),
        },
        load: load1(),
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
      await runWorkers(1, { backend: 'files', dir, port: sink.port, ...tuning }),
      'one spool entry',
    );
    for (const k of options.workers ?? [1, 2, 4]) {
      sink.reset();
      const url = await pg.createDatabase(`fanout_${k}`);
      const db = await openDatabase(url);
      await enqueueOne(createPgStore(db), n);
      await db.close();
      const stats0 = await postgresCounters(url);
      const r = await runWorkers(
        k,
        {
          backend: 'postgres',
          url,
          dir: join(work, `w${k}`),
          port: sink.port,
          ...tuning,
        },
        pgData(pg.dir),
      );
      const stats1 = await postgresCounters(url);
      record(
        'VERP fan-out on PostgreSQL',
        k,
        r,
        `batches of ${options.batch ?? 100} recipient rows, ${options.connections ?? 8} SMTP connections a worker`,
        [stats0, stats1],
      );
    }
  } finally {
    await pg.stop();
    await rm(work, { recursive: true, force: true });
  }
  return rows;
}
