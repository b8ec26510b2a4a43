/**
 * Checks classifyBounce against test/fixtures/bounces/MANIFEST.tsv: one outcome per
 * fixture (right, or what went wrong). Shared by the fixture test and by a quick figure.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BounceVerdict, classifyBounce } from '../../src/bounces/classify.ts';
import { normalizeAddress } from '../../src/mail/address.ts';

export const FIXTURES = join(import.meta.dirname, '../fixtures/bounces');

export interface FixtureRow {
  /** Addresses whose class differs from the row's (`address/soft` in the MANIFEST). */
  classOf?: Record<string, FixtureRow['class']>;
  file: string;
  origin: string;
  licence: string;
  system: string;
  expected: string[];
  class: 'hard' | 'soft' | 'delay' | 'none' | 'auto-reply' | 'challenge' | 'not-bounce';
  set: 'seen' | 'blind' | 'blind2';
}

export function manifest(): FixtureRow[] {
  const lines = readFileSync(join(FIXTURES, 'MANIFEST.tsv'), 'utf8').split('\n');
  return lines
    .filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('file\t'))
    .map((l) => {
      const [file, origin, licence, system, expected, klass, set] = l.split('\t');
      const entries = expected ? expected.split(',').map((e) => e.split('/')) : [];
      const classOf = Object.fromEntries(
        entries.filter((e) => e[1]).map(([a, c]) => [normalizeAddress(a!), c]),
      ) as Record<string, FixtureRow['class']>;
      return {
        ...(Object.keys(classOf).length > 0 ? { classOf } : {}),
        file: file!,
        origin: origin!,
        licence: licence!,
        system: system!,
        expected: entries.map(([a]) => normalizeAddress(a!)),
        class: klass as FixtureRow['class'],
        set: set as FixtureRow['set'],
      };
    });
}

/** '' when the verdict is what the row expects, else what is wrong. */
export function check(row: FixtureRow, verdict: BounceVerdict): string {
  const nonBounce: Record<string, string> = {
    none: 'unrecognised',
    'auto-reply': 'auto-reply',
    challenge: 'challenge-response',
  };
  if (row.class in nonBounce || row.class === 'not-bounce') {
    if (verdict.kind === 'bounce')
      return `expected not a bounce, got ${verdict.recipients.map((r) => `${r.address} ${r.action} ${r.class}`).join(', ')}`;
    if (row.class !== 'not-bounce' && verdict.reason !== nonBounce[row.class])
      return `expected ${nonBounce[row.class]}, got ${verdict.reason}`;
    return '';
  }
  if (verdict.kind !== 'bounce') return `expected a bounce, got not-bounce (${verdict.reason})`;
  const problems: string[] = [];
  for (const want of row.expected) {
    const r = verdict.recipients.find((x) => x.address === want || x.aliases.includes(want));
    if (!r) {
      problems.push(`${want} missing`);
      continue;
    }
    const klass = row.classOf?.[want] ?? row.class;
    if (klass === 'delay') {
      if (r.action !== 'delayed') problems.push(`${want} ${r.action}, expected delayed`);
    } else if (r.action !== 'failed' || r.class !== klass)
      problems.push(
        `${want} ${r.action} ${r.class}, expected failed ${klass} (${r.status} ${r.diagnostic.slice(0, 80)})`,
      );
  }
  for (const r of verdict.recipients)
    if (!row.expected.includes(r.address) && !r.aliases.some((a) => row.expected.includes(a)))
      problems.push(`unexpected ${r.address}`);
  return problems.join('; ');
}

export function runFixture(row: FixtureRow): string {
  return check(row, classifyBounce(readFileSync(join(FIXTURES, row.file))));
}
