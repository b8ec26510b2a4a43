/**
 * Issue 16's bench case, in its own process (its memory its own): the gates every post
 * passes first — `sanity`, `automated` and `header-match` with 40 rules (20 site, 20 list,
 * none matching, some written to be catastrophic for a backtracking engine) — over
 *  (a) every real message in test/fixtures/corpus and test/fixtures/hostile, and
 *  (b) a 5 MB hostile post: 1,000 MIME parts, each with an 8 KB header value of one letter.
 * Prints one JSON line: mails per second over (a), the first and median time of (b), and
 * the extra memory (peak RSS over the RSS before the runs).
 *
 *   node --import tsx bench/guards.ts     (or `npm run bench -- --guards`)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ListSettings } from '../src/list/settings.ts';
import { createListMail } from '../src/mail/list-mail.ts';
import createAutomated from '../src/processors/automated.ts';
import createHeaderMatch from '../src/processors/header-match.ts';
import createSanity from '../src/processors/sanity.ts';
import type { ListMail, Processor } from '../src/types.ts';

export interface GuardsCaseOutput {
  files: number;
  mailsPerSecond: number;
  hostileFirstMs: number;
  hostileMedianMs: number;
  hostileMb: number;
  extraRssMb: number;
}

const root = join(import.meta.dirname, '..', 'test', 'fixtures');
const messages = ['corpus', 'hostile'].flatMap((dir) =>
  readdirSync(join(root, dir))
    .filter((f) => f.endsWith('.eml'))
    .map((f) => readFileSync(join(root, dir, f))),
);

// Patterns a backtracking engine takes exponential time on: (a+)+$ and friends.
const nasty = ['(a+)+$', '(a|aa)*c', '(a|a?)+b', '^(\\w+\\s?)*$'];
const rule = (i: number, site: boolean) => ({
  header: i % 2 ? 'X-Filler' : 'Subject',
  pattern: nasty[i % nasty.length]!,
  action: 'hold' as const,
  ...(site ? { site: true } : {}),
});
const list: ListSettings = {
  name: 'bench',
  address: 'bench@list.example.com',
  members: [],
  header_matches: [
    ...Array.from({ length: 20 }, (_, i) => rule(i, true)),
    ...Array.from({ length: 20 }, (_, i) => rule(i, false)),
  ],
} as ListSettings;
const units: Processor[] = [createSanity(list), createAutomated(list), createHeaderMatch(list)];

async function gate(raw: Buffer): Promise<void> {
  let mail: ListMail = createListMail(raw, { fetcher: 'bench', id: '1' });
  for (const unit of units) {
    try {
      const next = await unit.process(mail);
      if (next && !Array.isArray(next)) mail = next;
    } catch {
      return; // held, discarded, rejected: the gate did its work
    }
  }
}

function hostilePost(): Buffer {
  const filler = 'a'.repeat(8 * 1024 - 1);
  const parts = Array.from(
    { length: 1000 },
    (_, i) => `--b\r\nContent-Type: text/plain\r\nX-Filler: ${filler}!\r\n\r\npart ${i}\r\n`,
  );
  return Buffer.from(
    'From: a@example.org\r\nTo: bench@list.example.com\r\nSubject: ' +
      `${'a'.repeat(4000)}!\r\nMessage-ID: <hostile@example.org>\r\nMIME-Version: 1.0\r\n` +
      `Content-Type: multipart/mixed; boundary=b\r\n\r\n${parts.join('')}--b--\r\n`,
  );
}

const rssBefore = process.memoryUsage().rss;
const big = hostilePost();
const rounds = 3;
const t0 = performance.now();
for (let r = 0; r < rounds; r++) for (const raw of messages) await gate(raw);
const corpusMs = performance.now() - t0;
const times: number[] = [];
for (let r = 0; r < 3; r++) {
  const t = performance.now();
  await gate(big);
  times.push(performance.now() - t);
}
const sorted = [...times].sort((a, b) => a - b);
const out: GuardsCaseOutput = {
  files: messages.length,
  mailsPerSecond: (rounds * messages.length * 1000) / corpusMs,
  hostileFirstMs: times[0]!,
  hostileMedianMs: sorted[Math.floor(sorted.length / 2)]!,
  hostileMb: big.length / 1024 / 1024,
  extraRssMb: Math.max(0, process.resourceUsage().maxRSS * 1024 - rssBefore) / 1024 / 1024,
};
process.stdout.write(`${JSON.stringify(out)}\n`);
