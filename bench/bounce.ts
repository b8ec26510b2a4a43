/**
 * One bench case in its own process (so its memory is its own): a 5 MB hostile DSN (a
 * report, then megabytes of blank lines with no closing boundary, forwarded inside a
 * message/rfc822) parsed by classifyBounce. Prints one JSON line: the time of the first
 * parse and the median of twenty (five rounds of four kinds of filler), and the extra memory (peak RSS over the RSS before the
 * parse, with the 5 MB input already built). Goal: < 1 s and < 50 MB.
 *
 *   node --import tsx bench/bounce.ts     (or `npm run bench -- --bounce`)
 */
import { classifyBounce } from '../src/bounces/classify.ts';
import { hostileDsn } from '../test/bounces/hostile-mail.ts';

export interface BounceCaseOutput {
  firstMs: number;
  medianMs: number;
  extraRssMb: number;
  inputMb: number;
  found: string;
}

const inputs = (['blank-lines', 'long-token', 'boundaries', 'addresses'] as const).map((kind) =>
  hostileDsn({ kind, size: 5 * 1024 * 1024, close: false, nested: true }),
);
const rssBefore = process.memoryUsage().rss;
const times: number[] = [];
let found = '';
for (let round = 0; round < 5; round++) {
  for (const input of inputs) {
    const t0 = performance.now();
    const verdict = classifyBounce(input);
    times.push(performance.now() - t0);
    found = verdict.kind === 'bounce' ? (verdict.recipients[0]?.address ?? '') : verdict.reason;
  }
}
const peakRss = process.resourceUsage().maxRSS * 1024;
const sorted = [...times].sort((a, b) => a - b);
const out: BounceCaseOutput = {
  firstMs: times[0]!,
  medianMs: sorted[Math.floor(sorted.length / 2)]!,
  extraRssMb: Math.max(0, peakRss - rssBefore) / 1024 / 1024,
  inputMb: inputs[0]!.length / 1024 / 1024,
  found,
};
process.stdout.write(`${JSON.stringify(out)}\n`);
