/**
 * N queue worker processes on one PostgreSQL database (each with its own state directory,
 * sharing nothing else), fanning one post out while some are SIGKILLed at random and
 * replaced; the tally is made at the SMTP server. For test/storage/pg-queue-workers.test.ts
 * (short, in `npm test`) and test/long/crash/pg-workers.test.ts (`npm run test:crash`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPgStore } from '../../src/queue/pg-store.ts';
import { createQueue } from '../../src/queue/queue.ts';
import { openDatabase } from '../../src/state/pg.ts';
import { prng } from '../long/crash/harness.ts';
import { testMessage } from '../smtp/fixtures.ts';
import type { TestSmtpServer } from './smtp-server.ts';

const CHILD = join(import.meta.dirname, 'pg-queue-worker-child.ts');

export interface WorkersRound {
  url: string;
  server: TestSmtpServer;
  members: number;
  workers: number;
  kills: number;
  seed: number;
  /** Recipients one claim takes. @default 50 */
  batch?: number;
}

export interface WorkersTally {
  members: number;
  kills: number;
  /** Processes started in all (the first N and each replacement). */
  started: number;
  lost: number;
  /** Recipients who got the post more than once (each is a reply in flight at a kill). */
  duplicated: number;
  /** Workers that ended with an error exit (not the killed ones). */
  failedExits: number;
  /** Claims of killed workers taken over by the others (stale leases found). */
  reclaimed: number;
  ms: number;
}

export async function runWorkersRound(round: WorkersRound): Promise<WorkersTally> {
  const rand = prng(round.seed); // the same seed, the same kill times
  const token = `pg-workers-${round.seed}-${Date.now()}`;
  const messageId = `${token}@example.com`;
  const recipients = Array.from(
    { length: round.members },
    (_, i) => `m${String(i).padStart(5, '0')}@workers.test`,
  );
  const db = await openDatabase(round.url);
  const setup = createQueue(
    { dir: '/nonexistent', deliver_now: false },
    {
      store: createPgStore(db),
      transport: { name: 'none', send: async () => [], close: async () => {} },
    },
  );
  await setup.enqueue({
    id: token,
    raw: testMessage(token),
    sender: 'red-bounces@list.example.test',
    recipients,
  });
  await setup.close();
  await db.close();

  const started = performance.now();
  const live = new Set<ChildProcess>();
  /** Workers past start-up (they said so on stdout). */
  const sending = new Set<ChildProcess>();
  let count = 0;
  let failedExits = 0;
  let reclaimed = 0;
  const exits: Promise<void>[] = [];
  const startWorker = async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'malist-pg-worker-'));
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        CHILD,
        round.url,
        String(round.server.port),
        stateDir,
        String(round.batch ?? 50),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('running')) sending.add(child);
      for (const m of d.toString().matchAll(/reclaimed (\d+)/g)) reclaimed += Number(m[1]);
    });
    count++;
    live.add(child);
    exits.push(
      new Promise((resolve) =>
        child.on('exit', (code, signal) => {
          live.delete(child);
          if (signal !== 'SIGKILL' && code !== 0) failedExits++;
          resolve();
        }),
      ),
    );
  };
  for (let i = 0; i < round.workers; i++) await startWorker();
  const delivered = () => recipients.reduce((n, r) => n + round.server.count(r, messageId), 0);
  let kills = 0;
  for (let k = 0; k < round.kills; k++) {
    // Each kill once deliveries are well under way (a kill during start-up proves nothing),
    // at a random moment after that, of a worker that has claimed (is sending) by then.
    const mark = ((k + 1) * round.members) / (round.kills + 2);
    while (delivered() < mark) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, rand() * 200));
    const victims = [...live].filter((c) => sending.has(c));
    const victim = victims[Math.floor(rand() * victims.length)];
    if (!victim) break;
    victim.kill('SIGKILL');
    kills++;
    await startWorker();
  }
  // Every kill is done: wait for the workers left (replacements included).
  await Promise.all(exits);
  const counts = recipients.map((r) => round.server.count(r, messageId));
  return {
    members: round.members,
    kills,
    started: count,
    lost: counts.filter((c) => c === 0).length,
    duplicated: counts.filter((c) => c > 1).length,
    failedExits,
    reclaimed,
    ms: Math.round(performance.now() - started),
  };
}

export function formatTally(t: WorkersTally, title: string): string {
  return `${title}: ${t.members} members, ${t.started} worker processes (${t.kills} SIGKILLed), ${t.lost} lost, ${t.duplicated} duplicated, ${t.failedExits} failed exits, ${t.reclaimed} stale claims taken over, ${(t.ms / 1000).toFixed(1)} s`;
}
