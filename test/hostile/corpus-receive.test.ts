/**
 * A sample of the corpus through `malist receive` on a members list and an open list —
 * the most hostile messages (no header, 8-bit and broken MIME, a bounce, an auto-reply).
 * Each ends handled (distributed, held, rejected, discarded, quarantined), said in the
 * delivery log or on stderr, exit 0. The whole corpus is `npm run test:faults`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corpusMessages } from '../helpers/corpus.ts';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-server.ts';
import { formatCorpus, receiveCorpus } from '../long/faults/corpus-receive.ts';

const all = corpusMessages();
// Spread over the corpus: its files are numbered by what they exercise.
const sample = all.filter((_, i) => i % Math.max(1, Math.floor(all.length / 6)) === 0).slice(0, 6);
const rows: Awaited<ReturnType<typeof receiveCorpus>>[] = [];

describe.concurrent('corpus sample through malist receive', () => {
  let server: TestSmtpServer;
  beforeAll(async () => {
    server = await startSmtpServer();
  });
  afterAll(async () => {
    await server?.stop();
    if (rows.length) process.stdout.write(`${formatCorpus(rows)}\n`);
  });

  for (const message of sample) {
    it(message.file, async () => {
      const results = await Promise.all(
        (['red', 'open'] as const).map((list) => receiveCorpus(message, list, server.port)),
      );
      rows.push(...results);
      for (const r of results) expect(r.problems, `${r.file} on ${r.list}`).toEqual([]);
    });
  }
});
