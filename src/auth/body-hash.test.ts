import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bodyHash, lastBodyMemo } from './body-hash.ts';
import { relaxedBodyHash } from './mailauth.ts';
import { checkedBodyHash } from './signature-check.ts';

describe('bodyHash', () => {
  it('is the RFC 6376 relaxed hash: the empty body and a body of empty lines hash as nothing', () => {
    const empty = '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=';
    expect(bodyHash(Buffer.alloc(0))).toBe(empty);
    expect(bodyHash(Buffer.from('\r\n\r\n \r\n'))).toBe(empty);
    expect(bodyHash(Buffer.from(' C \r\nD \t E\r\n\r\n\r\n'))).toBe(
      bodyHash(Buffer.from(' C\r\nD E\r\n')),
    );
  });

  it("gives mailauth's canonicaliser's hash for any mix of blanks, CR, LF and 8-bit bytes", () => {
    const piece = fc.constantFrom(
      'a',
      'é',
      ' ',
      '  ',
      '\t',
      '\r',
      '\n',
      '\r\n',
      '\r\n\r\n',
      '\x00',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), (parts) => {
        const body = Buffer.from(parts.join(''), 'latin1');
        expect(bodyHash(body)).toBe(relaxedBodyHash(body));
        expect(checkedBodyHash(body)).toBe(relaxedBodyHash(body));
      }),
      { numRuns: 3000 },
    );
  });

  it('lastBodyMemo hashes a body again only when its bytes differ from the last one, even in a reused buffer', () => {
    const hashed: string[] = [];
    const memo = lastBodyMemo((body) => {
      hashed.push(body.toString());
      return bodyHash(body);
    });
    const body = Buffer.from('Hello members.\r\n');
    expect(memo(body)).toBe(bodyHash(body));
    expect(memo(Buffer.from(body))).toBe(bodyHash(body));
    body.write('J'); // the caller reuses its buffer: the memo kept its own copy
    expect(memo(body)).toBe(bodyHash(Buffer.from('Jello members.\r\n')));
    expect(memo(Buffer.from('Hello members.\r\n'))).toBe(
      bodyHash(Buffer.from('Hello members.\r\n')),
    );
    expect(hashed).toEqual(['Hello members.\r\n', 'Jello members.\r\n', 'Hello members.\r\n']);
  });

  it("the self-check's own canonicaliser gives mailauth's hash across its 16 KB chunks too", () => {
    const piece = fc.constantFrom(
      'x'.repeat(1000),
      ' '.repeat(700),
      '\t \t',
      'word ',
      '\r',
      '\n',
      '\r\n',
      '\r\n\r\n',
      ' \r\n',
      '\xff',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 80 }), (parts) => {
        const body = Buffer.from(parts.join(''), 'latin1');
        expect(checkedBodyHash(body)).toBe(relaxedBodyHash(body));
      }),
      { numRuns: 300 },
    );
    const empty = '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=';
    expect(checkedBodyHash(Buffer.alloc(0))).toBe(empty);
    expect(checkedBodyHash(Buffer.from('\r\n\n \r\n\t\n'))).toBe(empty);
  });
});
