import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DotUnstuffer } from './pop3-dot-stream.ts';

/** What a server sends: every line starting with "." gets one more, then ".\r\n". */
function stuff(message: Buffer): Buffer {
  const out: number[] = [];
  let lineStart = true;
  for (const byte of message) {
    if (lineStart && byte === 0x2e) out.push(0x2e);
    out.push(byte);
    lineStart = byte === 0x0a;
  }
  return Buffer.concat([Buffer.from(out), Buffer.from('.\r\n')]);
}

function unstuffInChunks(wire: Buffer, cuts: number[]) {
  const parser = new DotUnstuffer();
  const parts: Buffer[] = [];
  let rest: Buffer | undefined;
  let start = 0;
  for (const cut of [...cuts, wire.length]) {
    const result = parser.push(wire.subarray(start, cut));
    parts.push(...result.data);
    if (result.done) {
      rest = Buffer.concat([result.rest ?? Buffer.alloc(0), wire.subarray(cut)]);
      break;
    }
    start = cut;
  }
  return { message: Buffer.concat(parts), done: parser.done, rest };
}

describe('DotUnstuffer', () => {
  it('unstuffs dotted lines and stops at the terminator', () => {
    const wire = Buffer.from('Subject: x\r\n\r\n..leading dot\r\n...two\r\n.\r\n');
    const { message, done, rest } = unstuffInChunks(wire, []);
    expect(message.toString()).toBe('Subject: x\r\n\r\n.leading dot\r\n..two\r\n');
    expect(done).toBe(true);
    expect(rest?.length).toBe(0);
  });

  it('finds a terminator split across every possible chunk boundary', () => {
    const wire = Buffer.from('a\r\nb\r\n.\r\n');
    for (let i = 0; i <= wire.length; i++) {
      for (let j = i; j <= wire.length; j++) {
        const { message, done } = unstuffInChunks(wire, [i, j]);
        expect(done).toBe(true);
        expect(message.toString()).toBe('a\r\nb\r\n');
      }
    }
  });

  it('is not fooled by ".\\r" that is not a terminator, nor by a dot mid-line', () => {
    const wire = Buffer.from('x.\r\n..\rz\r\n.a\r\n.\r\n');
    expect(unstuffInChunks(wire, [4, 5, 6]).message.toString()).toBe('x.\r\n.\rz\r\na\r\n');
  });

  it('passes 8-bit bytes, bare CR and bare LF through byte for byte', () => {
    const body = Buffer.from([0xe9, 0xff, 0x00, 0x0d, 0x41, 0x0a, 0x2e, 0x2e, 0x0d, 0x0a]);
    const { message } = unstuffInChunks(stuff(body), [1, 3, 7]);
    expect(message.equals(body)).toBe(true);
  });

  it('keeps bytes after the terminator aside', () => {
    const { message, rest } = unstuffInChunks(Buffer.from('a\r\n.\r\n+OK next'), []);
    expect(message.toString()).toBe('a\r\n');
    expect(rest?.toString()).toBe('+OK next');
  });

  it('round-trips any message ending in a line break, however it is chunked', () => {
    const lineBytes = fc.constantFrom(0x2e, 0x0d, 0x0a, 0x41, 0xff, 0x00, 0x20);
    fc.assert(
      fc.property(
        fc.array(lineBytes, { maxLength: 200 }),
        fc.constantFrom('\r\n', '\n'),
        fc.array(fc.nat(), { maxLength: 10 }),
        (bytes, ending, rawCuts) => {
          const message = Buffer.concat([Buffer.from(bytes), Buffer.from(ending)]);
          const wire = stuff(message);
          const cuts = [...new Set(rawCuts.map((c) => c % (wire.length + 1)))].sort(
            (a, b) => a - b,
          );
          const result = unstuffInChunks(wire, cuts);
          expect(result.done).toBe(true);
          expect(result.message.equals(message)).toBe(true);
          expect(result.rest?.length ?? 0).toBe(0);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
