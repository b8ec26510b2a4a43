/**
 * `npm run test:crash` (with the crash suite): rounds of many overlapping `malist run`,
 * `malist queue run` and `malist receive` processes on one state directory, some of them
 * SIGKILLed at random; every post must reach every member exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSmtpServer, type TestSmtpServer } from '../../helpers/smtp-server.ts';
import { type ConcurrencyResult, formatConcurrency, runConcurrency } from './concurrency.ts';
import { reportDir } from './harness.ts';

const SEED = Number(process.env.MALIST_CRASH_SEED ?? Date.now() % 1_000_000);
const ROUNDS = Number(process.env.MALIST_CONCURRENCY_ROUNDS ?? 3);
const results: ConcurrencyResult[] = [];

describe('concurrent runs, queue runs and receive hooks on one state directory', () => {
  let server: TestSmtpServer;
  beforeAll(async () => {
    server = await startSmtpServer({ rcptDelayMs: 5 });
  });
  afterAll(async () => {
    await server?.stop();
    const { mkdir, writeFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const text = results
      .map((r, i) => formatConcurrency(r, `concurrency round ${i + 1} (seed ${SEED + i})`))
      .join('\n');
    process.stdout.write(`\n${text}\n`);
    await mkdir(reportDir(), { recursive: true });
    await writeFile(
      join(reportDir(), 'concurrency-long.json'),
      `${JSON.stringify({ at: new Date().toISOString(), seed: SEED, results, text }, null, 2)}\n`,
    );
  });

  for (let round = 0; round < ROUNDS; round++) {
    it(`round ${round + 1}`, async () => {
      const result = await runConcurrency(server, {
        inboxPosts: 8,
        receivedPosts: 8,
        twice: 2,
        runs: 4,
        queueRuns: 3,
        kills: 3,
        seed: SEED + round,
      });
      results.push(result);
      expect(result.problems).toEqual([]);
      expect(result.tally).toMatchObject({ lost: 0, duplicated: 0, unexpected: 0, left: 0 });
    });
  }
});
