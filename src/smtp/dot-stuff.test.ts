import { describe, expect, it } from 'vitest';
import { prepareBody, preparedBodyOf, STREAM_ABOVE } from './dot-stuff.ts';

const bytes = (raw: Buffer) => Buffer.concat([...prepareBody(raw).chunks()]);
const wire = (raw: string) => bytes(Buffer.from(raw, 'latin1')).toString('latin1');

/** The rule, written the slow obvious way. */
function reference(raw: string): string {
  const crlf = raw.replace(/(?<!\r)\n/g, '\r\n').replace(/(^|\n)\./g, '$1..');
  return `${crlf}${crlf === '' || crlf.endsWith('\n') ? '' : '\r\n'}.\r\n`;
}

describe('prepareBody', () => {
  it('sends CRLF text without dots as it is, with no copy', () => {
    const raw = Buffer.from('Subject: a\r\n\r\nbody\r\n');
    const body = prepareBody(raw);
    expect([...body.chunks()][0]).toBe(raw);
    expect(bytes(raw).toString()).toBe('Subject: a\r\n\r\nbody\r\n.\r\n');
    expect(body.size).toBe(raw.length + 3);
  });

  it('makes line ends CRLF and doubles leading dots', () => {
    expect(wire('.first\nSubject: a\n\n.\n..two\nend')).toBe(
      '..first\r\nSubject: a\r\n\r\n..\r\n...two\r\nend\r\n.\r\n',
    );
    expect(wire('a\r\n.b\r\n')).toBe('a\r\n..b\r\n.\r\n');
    expect(wire('\n.\n')).toBe('\r\n..\r\n.\r\n');
    expect(wire('')).toBe('.\r\n');
    for (const s of ['a\rb\n', '.', 'x\r', '\r\n.\r', 'a\n\n.\n.'])
      expect(wire(s)).toBe(reference(s));
  });

  it('notes 8-bit bytes and keeps them', () => {
    const body = prepareBody(Buffer.from('caf\xe9\n', 'latin1'));
    expect(body.eightBit).toBe(true);
    expect(Buffer.concat([...body.chunks()]).toString('latin1')).toBe('caf\xe9\r\n.\r\n');
    expect(prepareBody(Buffer.from('plain\n')).eightBit).toBe(false);
  });

  it('converts a large message piece by piece, byte for byte as in one go', () => {
    // Short and very long lines (longer than a piece), CRLF and LF, dots, and a CR LF
    // pair wherever a piece may be cut.
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const lines: string[] = [];
    let total = 0;
    while (total < STREAM_ABOVE + 1_000_000) {
      const long = rand(50) === 0;
      const line = `${rand(4) === 0 ? '.' : ''}${'y'.repeat(long ? 300_000 + rand(1000) : rand(100))}${rand(3) === 0 ? '\r' : ''}\n`;
      lines.push(line);
      total += line.length;
    }
    const text = lines.join('');
    const body = prepareBody(Buffer.from(text, 'latin1'));
    expect(body.inMemory).toBe(false);
    const streamed = Buffer.concat([...body.chunks()]);
    expect(streamed.length).toBe(body.size);
    expect(streamed.toString('latin1') === reference(text)).toBe(true);
    // Each send makes the pieces again.
    expect(Buffer.concat([...body.chunks()]).equals(streamed)).toBe(true);
  });

  it('prepares a buffer once', () => {
    const raw = Buffer.from('x\n');
    expect(preparedBodyOf(raw)).toBe(preparedBodyOf(raw));
  });
});
