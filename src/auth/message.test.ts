import { describe, expect, it } from 'vitest';
import { cutMessage, prependFields } from './message.ts';

const cut = (s: string) => {
  const { header, body, eol } = cutMessage(Buffer.from(s, 'latin1'));
  return [header.toString('latin1'), body.toString('latin1'), eol];
};

describe('cutMessage', () => {
  it('cuts at the first empty line, CRLF or LF, and keeps the empty line in the header', () => {
    expect(cut('A: 1\r\nB: 2\r\n\r\nbody\r\n\r\nmore')).toEqual([
      'A: 1\r\nB: 2\r\n\r\n',
      'body\r\n\r\nmore',
      '\r\n',
    ]);
    expect(cut('A: 1\nB: 2\n\nbody\n')).toEqual(['A: 1\nB: 2\n\n', 'body\n', '\n']);
    expect(cut('A: 1\n\r\nbody')).toEqual(['A: 1\n\r\n', 'body', '\n']);
  });

  it('reads an empty first line as an empty header, and no empty line as no body', () => {
    expect(cut('\r\nA: not a header')).toEqual(['\r\n', 'A: not a header', '\r\n']);
    expect(cut('A: 1\r\nB: 2')).toEqual(['A: 1\r\nB: 2', '', '\r\n']);
  });
});

describe('prependFields', () => {
  it('puts fields on top in the message line ending and leaves every byte below', () => {
    const raw = Buffer.from('A: 1\n\nbody\n', 'latin1');
    const out = prependFields(raw, ['X: a\r\n b', 'Y: c'], '\n');
    expect(out.toString('latin1')).toBe('X: a\n b\nY: c\nA: 1\n\nbody\n');
    expect(out.subarray(out.length - raw.length).equals(raw)).toBe(true);
    expect(prependFields(raw, [], '\n')).toBe(raw);
  });
});
