/**
 * Every real bounce in test/fixtures/bounces (MANIFEST.tsv) is attributed to its member
 * with the right class, or recognised as what it is (a delay warning, an auto-reply, a
 * challenge, a bounce naming no address). Each fixture is its own test; the last one
 * prints the overall figure, seen and blind (see the MANIFEST), and holds the floor.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FIXTURES, manifest, runFixture } from './fixture-check.ts';

const rows = manifest();
/** Fixtures the parser does not get right yet: each is a known miss, listed with why. */
const KNOWN_MISSES: Record<string, string> = {
  'bp-aol-senderblock.eml': 'AOL names a screen name without a domain',
  'bp-aol.attachment.eml': 'AOL names a screen name without a domain',
  'flufl-aol_01.eml': 'AOL names a screen name without a domain',
};

describe('bounce fixtures (MANIFEST.tsv)', () => {
  it('every .eml has a MANIFEST row with an origin and a licence, and there are enough', () => {
    const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.eml'));
    expect(files.sort()).toEqual(rows.map((r) => r.file).sort());
    for (const r of rows) {
      expect(r.origin, r.file).not.toBe('');
      expect(r.licence, r.file).not.toBe('');
    }
    expect(rows.length).toBeGreaterThanOrEqual(150);
    expect(new Set(rows.map((r) => r.system.replace(/ \(.*$/, ''))).size).toBeGreaterThanOrEqual(
      25,
    );
  });

  for (const row of rows) {
    const label = `${row.file} [${row.set}]: ${row.expected.join(', ') || '-'} ${row.class}`;
    if (row.file in KNOWN_MISSES) {
      it.fails(`${label} (known miss: ${KNOWN_MISSES[row.file]})`, () => {
        expect(runFixture(row)).toBe('');
      });
    } else {
      it(label, () => {
        expect(runFixture(row)).toBe('');
      });
    }
  }

  it('prints the figure', () => {
    const figure = (set: string) => {
      const chosen = rows.filter((r) => set === 'all' || r.set === set);
      const right = chosen.filter((r) => runFixture(r) === '').length;
      return `${set} ${right}/${chosen.length} (${((100 * right) / chosen.length).toFixed(1)}%)`;
    };
    console.log(
      `bounce fixtures right: ${figure('seen')}, ${figure('blind')}, ${figure('blind2')}, ${figure('all')}`,
    );
    const right = rows.filter((r) => runFixture(r) === '').length;
    expect(right / rows.length).toBeGreaterThanOrEqual(0.95);
  });
});
