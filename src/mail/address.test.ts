/**
 * The plain-ASCII shortcut of `normalizeAddress` and `addressProblem` says what the general
 * path (the URL host parser, Unicode classes) says, for every address it takes: generated
 * near the edges — hyphens, dots, digits, `xn--`, numbers as the last label, lengths.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addressPaths, addressProblem, normalizeAddress } from './address.ts';

const { plainAscii, normalizeGeneral, problemGeneral } = addressPaths;

const chars = (set: string, max: number) =>
  fc
    .array(fc.constantFrom(...set.split('')), { minLength: 0, maxLength: max })
    .map((c) => c.join(''));
const localPart = fc.oneof(
  chars('aZ09.-_+!$%&\'*/=?^`{|}~#"', 12),
  fc.constantFrom('a', 'A.b', '-a', 'a.', '.a', 'a..b', 'x'.repeat(64), 'x'.repeat(65)),
);
const labelPart = fc.oneof(
  chars('aZ09-', 8),
  fc.constantFrom('xn--bcher-kva', 'XN--abc', '0x7f', '123', 'a'.repeat(63), 'a'.repeat(64), 'é'),
);
const host = fc.array(labelPart, { minLength: 1, maxLength: 4 }).map((l) => l.join('.'));
const nearlyPlainHost = fc
  .array(chars('az09-', 6), { minLength: 1, maxLength: 3 })
  .map((l) => l.join('.'));
const address = fc.oneof(
  fc.tuple(chars('aZ09._-+', 10), nearlyPlainHost).map(([l, h]) => `${l}@${h}`),
  fc.tuple(localPart, host).map(([l, h]) => `${l}@${h}`),
  fc.tuple(localPart, host, host).map(([l, h, g]) => `${l}@${h}@${g}`),
);

describe('the plain-ASCII address shortcut', () => {
  it('takes only addresses the general path finds good, and normalises them alike', () => {
    let taken = 0;
    fc.assert(
      fc.property(address, (a) => {
        if (!plainAscii(a)) return;
        taken++;
        expect(problemGeneral(a)).toBeUndefined();
        expect(normalizeGeneral(a)).toBe(a.toLowerCase());
      }),
      { numRuns: 5000 },
    );
    // The shortcut was put to the test, not only passed by.
    expect(taken).toBeGreaterThan(150);
  });

  it('leaves the rest to the general path', () => {
    for (const a of ['Alice@Example.ORG', 'a-b.c@mail-1.example.com', `${'x'.repeat(64)}@ex.org`])
      expect([plainAscii(a), addressProblem(a), normalizeAddress(a)]).toEqual([
        true,
        undefined,
        a.toLowerCase(),
      ]);
    for (const a of [
      'a@1.2.3.4',
      'a@0x7f.1',
      'a@xn--bcher-kva.example',
      '-a@ex.org',
      'a@-ex.org',
      'a@bücher.example',
      '<a@ex.org>',
      ' a@ex.org',
    ])
      expect(plainAscii(a)).toBe(false);
    expect(normalizeAddress('a@xn--bcher-kva.example')).toBe('a@xn--bcher-kva.example');
    expect(normalizeAddress('A@Bücher.example')).toBe('a@xn--bcher-kva.example');
    expect(addressProblem('a@0x7f.1')).toBeUndefined();
    expect(normalizeAddress('a@0x7f.1')).toBe('a@127.0.0.1');
  });
});
