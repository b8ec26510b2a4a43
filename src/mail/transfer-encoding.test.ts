import fc from 'fast-check';
import { decode as qpDecode } from 'libqp';
import { describe, expect, it } from 'vitest';
import { base64Decode, base64Encode, qpEncode } from './transfer-encoding.ts';

/** Text lines of any bytes (no CR or LF inside a line), as a footer or a body holds them. */
const lines = fc.array(
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b.filter((c) => c !== 10 && c !== 13))),
  { minLength: 1, maxLength: 8 },
);

function joined(parts: Buffer[], eol: string): Buffer {
  return Buffer.concat(parts.flatMap((p) => [p, Buffer.from(eol)]));
}

function physicalLines(encoded: string, eol: string): string[] {
  return encoded.split(eol).slice(0, -1);
}

describe.each(['\r\n', '\n'])('with line ending %j', (eol) => {
  it('quoted-printable: decodes to the input, ≤ 76 columns, only the mail’s line ending', () => {
    fc.assert(
      fc.property(lines, (parts) => {
        const data = joined(parts, eol);
        const encoded = qpEncode(data, eol);
        expect(/^[\t\x20-\x7e\r\n]*$/.test(encoded)).toBe(true);
        if (eol === '\n') expect(encoded).not.toContain('\r');
        for (const line of physicalLines(encoded, eol)) {
          expect(line.length).toBeLessThanOrEqual(76);
          expect(line.startsWith('--')).toBe(false); // never a MIME boundary
          expect(/[ \t]$/.test(line)).toBe(false); // trailing white space is encoded
        }
        expect(qpDecode(encoded.replaceAll(eol, '\r\n'))).toEqual(joined(parts, '\r\n'));
      }),
    );
  });

  it('base64: lines of 76 ending in the mail’s line ending, read back by Buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        const data = Buffer.from(bytes);
        const encoded = base64Encode(data, eol);
        const physical = physicalLines(encoded, eol);
        expect(encoded.endsWith(eol) || data.length === 0).toBe(true);
        for (const line of physical.slice(0, -1)) expect(line).toHaveLength(76);
        expect(Buffer.from(physical.join(''), 'base64')).toEqual(data);
        expect(base64Decode(Buffer.from(encoded, 'latin1'))).toEqual(data);
      }),
    );
  });
});

it('quoted-printable escapes what a reader could misread: a signature line, a dash line', () => {
  expect(qpEncode(Buffer.from('-- \nRed list\n'), '\n')).toBe('=2D-=20\nRed list\n');
  expect(qpEncode(Buffer.from('--boundary\r\n'), '\r\n')).toBe('=2D-boundary\r\n');
});

it('base64Decode reads bodies as mail readers do: junk skipped, every line padded on its own', () => {
  expect(base64Decode(Buffer.from('aGVs\r\n bG8=\r\n'))).toEqual(Buffer.from('hello'));
  expect(base64Decode(Buffer.from('aGk=\r\nIQ==\r\n'))).toEqual(Buffer.from('hi!'));
});
