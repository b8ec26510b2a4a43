/**
 * A runner killed (SIGKILL, via MALIST_CRASH_AT) at each named crash point of the queue,
 * then an ordinary run: every recipient gets the post exactly once — except in the one
 * window no SMTP client can close (the server said 250, the sent-log line is not yet on
 * disk), where the transaction's recipients may get a second copy.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueue } from '../../src/queue/queue.ts';
import { createSmtpTransport } from '../../src/smtp/nodemailer.ts';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-server.ts';
import { testMessage } from '../smtp/fixtures.ts';
import { tempDir } from './helpers.ts';

const CHILD = join(import.meta.dirname, '../helpers/queue-run-child.ts');
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
  const spool = join(temp.dir, 'spool');
  const queue = createQueue({ dir: spool, deliver_now: false }, { transport: smtp() });
  await queue.enqueue({
    id: `crash-${point.replace(/[^a-z0-9]/gi, '-')}`,
    raw: testMessage(point),
    sender: 'b@l.test',
    recipients: RECIPIENTS,
  });
  await queue.close();
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, spool, String(server.port)], {
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

/**
 * `exact`: recipients that must get the post exactly once after a crash at `point`; the
 * others were, or may have been, accepted by the server and not yet in the sent-log when
 * the runner died (with a pipelining client several transactions can be in that state), so
 * they get it at least once and at most twice.
 */
const cases: Array<{ point: string; exact: string[] }> = [
  // Nothing sent yet.
  { point: 'queue.after-claim', exact: RECIPIENTS },
  // Every transaction answered and logged; only the envelope or the unlink is missing.
  { point: 'queue.before-envelope-update', exact: RECIPIENTS },
  { point: 'queue.before-unlink', exact: RECIPIENTS },
  // a and b in the sent-log; c may have been in flight.
  { point: 'queue.after-sent-log:2', exact: ['a@x.test', 'b@x.test'] },
  // a in the sent-log; b answered 250 but not logged (the window no SMTP client can close).
  { point: 'queue.after-smtp-reply:2', exact: ['a@x.test'] },
];

describe('crash points', () => {
  it.each(cases)(
    'killed at $point: nothing in the sent-log is sent again, nobody is missed',
    async ({ point, exact }) => {
      const temp = await crashedRun(point);
      try {
        await recover(temp.spool);
        const id = `${point}@example.com`;
        for (const r of RECIPIENTS) {
          const count = server.count(r, id);
          if (exact.includes(r)) expect(count, r).toBe(1);
          else expect([1, 2], r).toContain(count);
        }
      } finally {
        await temp.remove();
      }
    },
    20_000,
  );
});
