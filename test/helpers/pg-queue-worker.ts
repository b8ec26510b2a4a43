/**
 * A queue worker on PostgreSQL as another process has one: its own pool (its own sessions),
 * its own lease, a bulk SMTP transport of two connections and one recipient a transaction
 * to the test's server. For the tests that cut a worker off mid-fan-out and count, at the
 * SMTP server, that the worker taking over sends the rest and nobody twice.
 */

import { afterAll, beforeAll } from 'vitest';
import { createPgStore, type PgQueueStore } from '../../src/queue/pg-store.ts';
import { createQueue, type Queue } from '../../src/queue/queue.ts';
import { createBulkTransport } from '../../src/smtp/bulk-client.ts';
import { type Database, openDatabase } from '../../src/state/pg.ts';
import type { ProcessLease } from '../../src/state/pg-lock.ts';
import { type Postgres, startPostgres } from './postgres.ts';
import { startSmtpServer, type TestSmtpServer, type TestSmtpServerOptions } from './smtp-server.ts';
import { until } from './until.ts';

export interface PgQueueWorker<L extends ProcessLease | undefined = undefined> {
  queue: Queue;
  store: PgQueueStore;
  db: Database;
  /** The lease the test made on the worker's pool (else the store makes its own). */
  lease: L;
}

/** A worker on `url`, sending to 127.0.0.1:`smtpPort`; `lease` makes its lease on its pool. */
export async function pgQueueWorker<L extends ProcessLease | undefined = undefined>(
  url: string,
  smtpPort: number,
  leaseOf?: (db: Database) => L,
): Promise<PgQueueWorker<L>> {
  const db = await openDatabase(url);
  const lease = leaseOf?.(db) as L;
  const store = createPgStore(db, { claimBatch: 1000, ...(lease ? { lease } : {}) });
  const queue = createQueue(
    { dir: '/nonexistent', deliver_now: false },
    {
      store,
      transport: createBulkTransport({
        host: '127.0.0.1',
        port: smtpPort,
        starttls: 'never',
        max_connections: 2,
        max_recipients_per_transaction: 1,
        connection_timeout_ms: 30_000,
        greeting_timeout_ms: 30_000,
      }),
    },
  );
  return { queue, store, db, lease };
}

/** Runs `worker` until its queue is empty; the claims it took over from another worker. */
export async function finishPost(worker: { queue: Queue }): Promise<number> {
  let reclaimed = 0;
  await until('worker B to finish the post', async () => {
    const summary = await worker.queue.run();
    reclaimed += summary.reclaimed;
    return (await worker.queue.list()).length === 0;
  });
  return reclaimed;
}

/** A PostgreSQL server and an SMTP test server, started before the suite and stopped after. */
export interface PgAndSmtp {
  pg: Postgres;
  server: TestSmtpServer;
}

/** Registers the suite's hooks (call it in the `describe` body); `smtp`: the SMTP server's. */
export function pgAndSmtp(smtp: TestSmtpServerOptions = {}): PgAndSmtp {
  const both = {} as PgAndSmtp;
  beforeAll(async () => {
    both.pg = await startPostgres();
    both.server = await startSmtpServer(smtp);
  }, 120_000);
  afterAll(async () => {
    await both.server?.stop();
    await both.pg?.stop();
  });
  return both;
}
