import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDkimHeaders } from './mailauth.ts';
import { tagValues } from './tag-list.ts';

/** mailauth's tags as `tagsOf` read them before (strings). */
function mailauthTags(line: Buffer): Record<string, string | undefined> {
  const values: Record<string, string | undefined> = {};
  for (const [name, entry] of Object.entries(parseDkimHeaders(line).parsed)) {
    const value = entry && typeof entry === 'object' ? (entry as { value?: unknown }).value : entry;
    values[name] = value === undefined || value === null ? undefined : String(value);
  }
  return values;
}

/** A signature field made of the pieces that decide tag-list parsing. */
const field = fc
  .tuple(
    fc.constantFrom('DKIM-Signature', 'ARC-Seal', 'arc-message-signature', ' ARC-Seal '),
    fc.array(
      fc.constantFrom(
        ';',
        '=',
        ' ',
        '\t',
        '\r\n ',
        'a',
        'b',
        'B',
        'bh',
        'h',
        'i',
        't',
        'l',
        'x',
        'v',
        'cv',
        'p',
        '1',
        '07',
        '1e3',
        '-',
        'rsa-sha256',
        'From:To',
        'header',
        'value',
        '__proto__',
        'constructor',
        'é',
        '\xa0',
        '/',
        '+',
      ),
      { maxLength: 40 },
    ),
  )
  .map(([name, parts]) => `${name}:${parts.join('')}`);

describe('tagValues', () => {
  it("reads the tags of a signature field as mailauth 7.1's parser does", () => {
    fc.assert(
      fc.property(field, fc.boolean(), (text, utf8) => {
        const line = Buffer.from(text, utf8 ? 'utf8' : 'latin1');
        expect(tagValues(line)).toEqual(mailauthTags(line));
      }),
      { numRuns: 3000 },
    );
  });

  it('reads a signature as the signer writes it', () => {
    const line = Buffer.from(
      'DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n d=list.example.org;' +
        ' s=r1; t=1700000000;\r\n h=From:To:\r\n Subject;\r\n bh=abc\r\n =;\r\n b=AAA\r\n BBB',
    );
    expect(tagValues(line)).toEqual(mailauthTags(line));
    expect(tagValues(line)).toMatchObject({
      a: 'rsa-sha256',
      c: 'relaxed/relaxed',
      d: 'list.example.org',
      s: 'r1',
      t: '1700000000',
      h: 'From:To:Subject',
      bh: 'abc=',
      b: 'AAABBB',
    });
  });
});
