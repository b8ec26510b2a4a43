/**
 * The short concurrency check inside `npm test`: overlapping `malist run`, `malist queue
 * run` and `malist receive` processes (one post handed over twice at once) on one state
 * directory; every post reaches every member exactly once. Rounds with random SIGKILLs
 * are in `npm run test:crash` (test/long/crash/concurrency.test.ts).
 */
import { expect, it } from 'vitest';
import { startSmtpServer } from './helpers/smtp-server.ts';
import { formatConcurrency, runConcurrency } from './long/crash/concurrency.ts';

it('overlapping run / queue run / receive processes deliver every post once', async () => {
  const server = await startSmtpServer({ rcptDelayMs: 5 });
  try {
    const result = await runConcurrency(server, {
      inboxPosts: 2,
      receivedPosts: 3,
      twice: 1,
      runs: 2,
      queueRuns: 1,
      kills: 0,
      seed: 1,
    });
    process.stdout.write(`${formatConcurrency(result, 'concurrency (short)')}\n`);
    expect(result.problems).toEqual([]);
    expect(result.tally).toMatchObject({ lost: 0, duplicated: 0, unexpected: 0, left: 0 });
  } finally {
    await server.stop();
  }
});
