import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type BodyCanon,
  bodyHash,
  lastBodyMemo,
  prefixBodyMemo,
  relaxedBodyCanon,
  sharedLines,
  startBodyHash,
} from './body-hash.ts';
import { relaxedBodyHash } from './mailauth.ts';
import { checkedBodyCanon, checkedBodyHash } from './signature-check.ts';

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

  const canons: Array<[string, BodyCanon]> = [
    ['the signer', relaxedBodyCanon],
    ['the self-check', checkedBodyCanon],
  ];
  const piece = fc.constantFrom('a', 'é', ' ', '  ', '\t', '\r', '\n', '\r\n', '\r\n\r\n', 'x y');
  const fed = (canon: BodyCanon, parts: Buffer[]) => {
    const state = startBodyHash();
    for (const part of parts) canon.feed(state, part);
    return state.hash.digest('base64');
  };

  for (const [who, canon] of canons)
    it(`${who}'s canonicaliser fed a body in parts cut after LFs gives the body's hash`, () => {
      fc.assert(
        fc.property(fc.array(piece, { maxLength: 40 }), fc.array(fc.nat()), (parts, cuts) => {
          const body = Buffer.from(parts.join(''), 'latin1');
          const lfs = [...body.keys()].filter((i) => body[i] === 0x0a).map((i) => i + 1);
          const at = [...new Set(cuts.map((c) => lfs[c % (lfs.length || 1)] ?? 0))].sort(
            (a, b) => a - b,
          );
          const pieces = [...at, body.length].map((end, i) => body.subarray(at[i - 1] ?? 0, end));
          expect(fed(canon, pieces)).toBe(relaxedBodyHash(body));
        }),
        { numRuns: 2000 },
      );
    });

  for (const [who, canon] of canons)
    it(`prefixBodyMemo with ${who}'s canonicaliser: copies sharing a start, others, a reused buffer`, () => {
      const tail = fc.array(piece, { maxLength: 12 }).map((p) => p.join(''));
      fc.assert(
        fc.property(
          fc.array(piece, { maxLength: 30 }),
          fc.array(fc.tuple(fc.boolean(), tail), { minLength: 1, maxLength: 8 }),
          (start, copies) => {
            const memo = prefixBodyMemo(canon);
            const reused = Buffer.alloc(4096);
            for (const [shared, end] of copies) {
              const text = shared ? `${start.join('')}${end}` : `${end}${start.join('')}`;
              const body = Buffer.from(text, 'latin1');
              // Half of them in one reused buffer, as a caller may hand them over.
              const given = shared ? reused.subarray(0, reused.write(text, 'latin1')) : body;
              expect(memo(given)).toBe(relaxedBodyHash(body));
            }
          },
        ),
        { numRuns: 2000 },
      );
    });

  it('sharedLines is the common start of two buffers cut back after an LF', () => {
    const b = (text: string) => Buffer.from(text);
    expect(sharedLines(b('a\nb\nc\n'), b('a\nb\nd\n'))).toBe(4);
    expect(sharedLines(b('a\nb\n'), b('a\nb\n'))).toBe(4);
    expect(sharedLines(b('a\nbc'), b('a\nbd'))).toBe(2);
    expect(sharedLines(b('ab\n'), b('ac\n'))).toBe(0);
    expect(sharedLines(b(''), b('a\n'))).toBe(0);
  });
});
