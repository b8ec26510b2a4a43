import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatRelaxedLine } from './mailauth.ts';
import { relaxedLineMemo } from './signature-field.ts';

describe('relaxedLineMemo', () => {
  it("gives formatRelaxedLine's bytes for every field, seen before or not, past its size too", () => {
    const piece = fc.constantFrom('Subject', 'X', ':', ' ', '\t', '\r\n ', 'a', 'é', '  b');
    const canonicalise = relaxedLineMemo();
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (parts) => {
        const line = Buffer.from(parts.join(''), 'latin1');
        const expected = formatRelaxedLine(line, '\r\n');
        expect(canonicalise(line)).toEqual(expected);
        expect(canonicalise(Buffer.from(line))).toEqual(expected);
      }),
      { numRuns: 1000 },
    );
  });

  it('answers for the bytes a field has now, when the buffer it first saw was changed since', () => {
    const canonicalise = relaxedLineMemo();
    const line = Buffer.from('Subject:  Hello   there');
    expect(canonicalise(line).toString()).toBe('subject:Hello there\r\n');
    line.write('J', 10); // same length, other bytes: the memo kept its own copy
    expect(canonicalise(line).toString()).toBe('subject:Jello there\r\n');
    expect(canonicalise(Buffer.from('Subject:  Hello   there')).toString()).toBe(
      'subject:Hello there\r\n',
    );
  });
});
