/**
 * Hostile bounces: missing closing boundaries, megabytes of blank lines, long tokens,
 * deep nesting. classifyBounce reads a capped prefix line by line, so whatever comes its
 * outputs stay sane: no throw, only real addresses, a bounded number of recipients and
 * bounded diagnostics. (How fast is measured by `npm run bench -- --bounce`, not here.)
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BounceVerdict, classifyBounce } from '../../src/bounces/classify.ts';
import { hostileDsn, REPORT_FRAGMENTS } from './hostile-mail.ts';

function sane(verdict: BounceVerdict): void {
  if (verdict.kind !== 'bounce') return;
  expect(verdict.recipients.length).toBeLessThanOrEqual(500);
  for (const r of verdict.recipients) {
    expect(r.address).toMatch(/^[^@\s]+@[^@\s]+\.[^@\s]+$/);
    expect(r.diagnostic.length).toBeLessThanOrEqual(1000);
    expect(['failed', 'delayed']).toContain(r.action);
    expect(['hard', 'soft']).toContain(r.class);
  }
}

const filler = fc.constantFrom('blank-lines', 'long-token', 'boundaries', 'headers', 'addresses');

describe('hostile bounces', () => {
  it('generated hostile reports (no closing boundary, huge fillers) stay sane', () => {
    fc.assert(
      fc.property(
        filler,
        fc.integer({ min: 1, max: 3 * 1024 * 1024 }),
        fc.boolean(),
        fc.boolean(),
        (kind, size, close, nested) => {
          const raw = hostileDsn({ kind, size, close, nested });
          const verdict = classifyBounce(raw);
          sane(verdict);
          // The report comes before the filler: it is still found.
          expect(verdict.kind).toBe('bounce');
          if (verdict.kind === 'bounce')
            expect(verdict.recipients[0]?.address).toBe('member@example.org');
        },
      ),
      { numRuns: 25 },
    );
  });

  it('a 5 MB DSN with no closing boundary is read from its first 256 KiB', () => {
    const verdict = classifyBounce(
      hostileDsn({ kind: 'blank-lines', size: 5 * 1024 * 1024, close: false, nested: true }),
    );
    expect(verdict).toMatchObject({
      kind: 'bounce',
      recipients: [{ address: 'member@example.org', class: 'hard' }],
    });
  });

  it('arbitrary bytes around report fragments never throw', () => {
    const fragment = fc.constantFrom(...REPORT_FRAGMENTS);
    const mail = fc
      .array(fc.oneof(fragment, fc.string({ maxLength: 200 })), { maxLength: 80 })
      .map((pieces) => Buffer.from(pieces.join(''), 'latin1'));
    fc.assert(
      fc.property(mail, (raw) => sane(classifyBounce(raw))),
      { numRuns: 200 },
    );
  });
});
