/** Shared set-up for the queue tests: a temp spool, a fault server, a queue distributor. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import createQueueDistributor, {
  type QueueDistributorOptions,
} from '../../src/distributors/queue.ts';
import { createListMail } from '../../src/mail/list-mail.ts';
import type { RecipientFailure } from '../../src/queue/queue.ts';
import type { ListMail, StageFailure } from '../../src/types.ts';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-server.ts';
import { testMessage } from '../smtp/fixtures.ts';

export async function tempDir(
  prefix = 'malist-queue-',
): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export function listPost(id: string, to: string[], list = 'red'): ListMail {
  const mail = createListMail(testMessage(id), { fetcher: 'test', id });
  mail.ml_sender = `${list}-bounces@list.example.test`;
  mail.ml_send_to = to;
  mail.ml_list_name = list;
  return mail;
}

export interface QueueFixture {
  server: TestSmtpServer;
  spool: string;
  clock: { t: number };
  notices: StageFailure[];
  refusals: RecipientFailure[];
  distributor: ReturnType<typeof createQueueDistributor>;
  close(): Promise<void>;
}

export async function queueFixture(
  options: Partial<QueueDistributorOptions> = {},
): Promise<QueueFixture> {
  const server = await startSmtpServer();
  const temp = await tempDir();
  const clock = { t: Date.UTC(2026, 0, 1) };
  const notices: StageFailure[] = [];
  const refusals: RecipientFailure[] = [];
  const distributor = createQueueDistributor({
    dir: temp.dir,
    retry: { initial_seconds: 60, factor: 2, max_seconds: 3600 },
    expire_after_seconds: 86_400,
    smtp: {
      host: '127.0.0.1',
      port: server.port,
      starttls: 'never',
      // Bounds for a hung server, generous for a loaded machine; timeout tests set their own.
      connection_timeout_ms: 30_000,
      greeting_timeout_ms: 30_000,
      socket_timeout_ms: 30_000,
      transaction_timeout_ms: 60_000,
    },
    onFailure: (failure) => {
      notices.push(failure);
    },
    onRecipientFailed: (event) => {
      refusals.push(event);
    },
    // The fixture's clock drives the queue: tests move it forward instead of sleeping.
    now: () => clock.t,
    ...options,
  });
  return {
    server,
    spool: temp.dir,
    clock,
    notices,
    refusals,
    distributor,
    async close() {
      await distributor.close?.();
      await server.stop();
      await temp.remove();
    },
  };
}
