import { describe, expect, it } from 'vitest';
import { didYouMean, formatProblem, shown } from './problem.ts';

describe('problem formatting', () => {
  it('reads file:line:col key: message (fix: …)', () => {
    expect(
      formatProblem({
        file: 'lists/red.yaml',
        line: 7,
        col: 3,
        key: 'posting',
        message: "expected one of open | members | moderated | announce, got 'member'",
        fix: "did you mean 'members'?",
      }),
    ).toBe(
      "lists/red.yaml:7:3 posting: expected one of open | members | moderated | announce, got 'member' (fix: did you mean 'members'?)",
    );
    expect(formatProblem({ file: 'lists', line: 0, col: 0, key: '', message: 'cannot read' })).toBe(
      'lists cannot read',
    );
  });

  it('suggests only near misses', () => {
    expect(didYouMean('member', ['open', 'members', 'moderated'])).toBe('members');
    expect(didYouMean('subjet-prefix', ['subject-prefix', 'envelope'])).toBe('subject-prefix');
    expect(didYouMean('colour', ['field', 'value'])).toBeUndefined();
  });

  it('shows values briefly', () => {
    expect(shown('x'.repeat(100))).toHaveLength(62);
    expect(shown(5)).toBe('number 5');
    expect(shown(null)).toBe('null (an empty value)');
    expect(shown([1])).toBe('a list');
  });
});
