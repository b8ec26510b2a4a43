import { describe, expect, it } from 'vitest';
import { prepareBody, preparedBodyOf } from './dot-stuff.ts';

const wire = (raw: string) =>
  Buffer.concat(prepareBody(Buffer.from(raw, 'latin1')).parts).toString('latin1');

describe('prepareBody', () => {
  it('sends CRLF text without dots as it is, with no copy', () => {
    const raw = Buffer.from('Subject: a\r\n\r\nbody\r\n');
    const body = prepareBody(raw);
    expect(body.parts[0]).toBe(raw);
    expect(Buffer.concat(body.parts).toString()).toBe('Subject: a\r\n\r\nbody\r\n.\r\n');
    expect(body.size).toBe(raw.length + 3);
  });

  it('makes line ends CRLF and doubles leading dots', () => {
    expect(wire('.first\nSubject: a\n\n.\n..two\nend')).toBe(
      '..first\r\nSubject: a\r\n\r\n..\r\n...two\r\nend\r\n.\r\n',
    );
    expect(wire('a\r\n.b\r\n')).toBe('a\r\n..b\r\n.\r\n');
    expect(wire('\n.\n')).toBe('\r\n..\r\n.\r\n');
  });

  it('notes 8-bit bytes and keeps them', () => {
    const body = prepareBody(Buffer.from('caf\xe9\n', 'latin1'));
    expect(body.eightBit).toBe(true);
    expect(Buffer.concat(body.parts).toString('latin1')).toBe('caf\xe9\r\n.\r\n');
    expect(prepareBody(Buffer.from('plain\n')).eightBit).toBe(false);
  });

  it('prepares a buffer once', () => {
    const raw = Buffer.from('x\n');
    expect(preparedBodyOf(raw)).toBe(preparedBodyOf(raw));
  });
});
