/**
 * `npm run test:faults`: every message of test/fixtures/corpus through `malist receive` on a
 * members list and on an open list — each ends distributed, held, rejected, discarded or
 * quarantined, said in the delivery log or on stderr, with exit 0: never a crash, never
 * silence. The counts go to var/reliability/corpus-long.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { corpusMessages } from '../../helpers/corpus.ts';
import { startSmtpServer, type TestSmtpServer } from '../../helpers/smtp-server.ts';
import { reportDir } from '../crash/harness.ts';
import { formatCorpus, receiveAll } from './corpus-receive.ts';

let server: TestSmtpServer;
beforeAll(async () => {
  server = await startSmtpServer();
});
afterAll(() => server?.stop());

it('every corpus message on a members list and an open list: handled, never a crash or silence', async () => {
  const messages = corpusMessages();
  expect(messages.length).toBeGreaterThan(0);
  const rows = await receiveAll(
    messages,
    server.port,
    Number(process.env.MALIST_CRASH_PARALLEL ?? 4),
  );
  const text = formatCorpus(rows);
  process.stdout.write(`\n${text}\n`);
  await mkdir(reportDir(), { recursive: true });
  await writeFile(
    join(reportDir(), 'corpus-long.json'),
    `${JSON.stringify({ at: new Date().toISOString(), rows, text }, null, 2)}\n`,
  );
  expect(rows.filter((r) => r.problems.length > 0)).toEqual([]);
});
