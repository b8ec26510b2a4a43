import { describe, expect, it } from 'vitest';
import { assembleThread, flattenThread, isReplySubject, subjectKey } from './thread.ts';

describe('subjects', () => {
  it('folds list tags and reply markers in several languages', () => {
    expect(subjectKey('Re: [Red] Re: AW: The  Build')).toBe('the build');
    expect(subjectKey('[Red] RE: Transparency question')).toBe('transparency question');
    expect(subjectKey('SV: Fwd: hej')).toBe('hej');
    expect(isReplySubject('[Red] AW: x')).toBe(true);
    expect(isReplySubject('Reply policy')).toBe(false);
  });
});

describe('assembleThread', () => {
  const post = (messageId: string, refs: string[], date: number) => ({ messageId, refs, date });

  it('nests each post under its nearest archived ancestor', () => {
    const tree = assembleThread([
      post('c', ['a', 'b'], 3),
      post('a', [], 1),
      post('d', ['a', 'missing'], 4),
      post('b', ['a'], 2),
    ]);
    expect(flattenThread(tree).map((n) => `${n.depth}${n.post.messageId}`)).toEqual([
      '0a',
      '1b',
      '2c',
      '1d',
    ]);
  });

  it('keeps replies to a lost post side by side, and puts a subject-only reply under the first post', () => {
    const tree = assembleThread([post('x', ['lost'], 1), post('y', ['lost'], 2), post('z', [], 3)]);
    expect(flattenThread(tree).map((n) => `${n.depth}${n.post.messageId}`)).toEqual([
      '0x',
      '1z',
      '0y',
    ]);
  });

  it('cuts reference loops', () => {
    const tree = assembleThread([post('a', ['b'], 1), post('b', ['a'], 2)]);
    expect(flattenThread(tree)).toHaveLength(2);
  });
});
