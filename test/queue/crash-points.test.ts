/**
 * A runner killed (SIGKILL, via MALIST_CRASH_AT) at each named crash point of the queue,
 * then an ordinary run: every recipient gets the post exactly once — except in the one
 * window no SMTP client can close (the server said 250, the sent-log line is not yet on
 * disk), where the transaction's recipients may get a second copy.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSmtpTransport } from '../../src/distributors/smtp.ts';
import { createQueue } from '../../src/queue/queue.ts';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-server.ts';
import { testMessage } from '../smtp/fixtures.ts';
import { writeQueueConfig } from './config-file.ts';
import { tempDir } from './helpers.ts';

const CLI = join(import.meta.dirname, '../helpers/queue-cli.ts');
const RECIPIENTS = ['a@x.test', 'b@x.test', 'c@x.test'];

let server: TestSmtpServer;
beforeAll(async () => {
  server = await startSmtpServer();
});
afterAll(() => server?.stop());

function smtp() {
  return createSmtpTransport({
    host: '127.0.0.1',
    port: server.port,
    starttls: 'never',
    max_recipients_per_transaction: 1,
    max_connections: 1,
  });
}

async function crashedRun(point: string): Promise<{ spool: string; remove(): Promise<void> }> {
  const temp = await tempDir();
  const { spool } = await writeQueueConfig(temp.dir, server.port, {
    max_recipients_per_transaction: 1,
    max_connections: 1,
  });
  const queue = createQueue({ dir: spool, deliver_now: false }, { transport: smtp() });
  await queue.enqueue({
    id: `crash-${point.replace(/[^a-z0-9]/gi, '-')}`,
    raw: testMessage(point),
    sender: 'b@l.test',
    recipients: RECIPIENTS,
  });
  await queue.close();
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'run', '--config', temp.dir], {
    stdio: 'ignore',
    env: { ...process.env, MALIST_CRASH_AT: point },
  });
  const signal = await new Promise((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
  expect(signal, `the runner should have crashed at ${point}`).toBe('SIGKILL');
  return { spool, remove: temp.remove };
}

async function recover(spool: string): Promise<void> {
  const transport = createSmtpTransport({
    host: '127.0.0.1',
    port: server.port,
    starttls: 'never',
    max_recipients_per_transaction: 1,
  });
  const queue = createQueue({ dir: spool }, { transport });
  const summary = await queue.run();
  expect(summary.reclaimed + summary.processed).toBeGreaterThan(0);
  expect((await queue.list()).filter((e) => e.where !== 'dead')).toEqual([]);
  await queue.close();
}

describe('crash points', () => {
  it.each([
    'queue.after-claim',
    'queue.after-sent-log:2',
    'queue.before-envelope-update',
    'queue.before-unlink',
  ])(
    'killed at %s: every recipient exactly once',
    async (point) => {
      const temp = await crashedRun(point);
      try {
        await recover(temp.spool);
        for (const r of RECIPIENTS) expect(server.count(r, `${point}@example.com`), r).toBe(1);
      } finally {
        await temp.remove();
      }
    },
    20_000,
  );

  it('killed between the 250 and the sent-log: only that transaction may be sent twice', async () => {
    const point = 'queue.after-smtp-reply:2';
    const temp = await crashedRun(point);
    try {
      await recover(temp.spool);
      const id = `${point}@example.com`;
      expect(server.count('a@x.test', id)).toBe(1);
      expect(server.count('b@x.test', id)).toBeLessThanOrEqual(2);
      expect(server.count('c@x.test', id)).toBe(1);
    } finally {
      await temp.remove();
    }
  }, 20_000);
});
