import libmime from 'libmime';
import { describe, expect, it } from 'vitest';
import { plainContentType } from './mime-tree.ts';

/** What contentTypeOf keeps of a parse: the type, and parameters by lower-case name. */
function kept(parsed: { value: string; params?: Record<string, unknown> }) {
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed.params ?? {})) params[k.toLowerCase()] = String(v);
  return { value: parsed.value.trim().toLowerCase(), params };
}

describe('plainContentType (the Content-Type read without libmime)', () => {
  const plain = [
    'text/plain',
    'text/plain; charset=utf-8',
    'text/plain; charset="utf-8"',
    'Text/Plain; Charset=UTF-8; format=flowed; delsp=yes',
    'multipart/mixed; boundary="----=_Part_12_34.567"',
    'multipart/alternative;\r\n boundary="b1_abc def"',
    'multipart/alternative;\r\n\tboundary=simple-boundary;',
    'application/pdf; name="report 2026.pdf"',
    '  text/html ;charset = iso-8859-1 ',
    'text/plain; charset=""',
    "message/rfc822; x-tag=a'b",
  ];
  for (const value of plain) {
    it(`reads ${JSON.stringify(value)} as libmime does`, () => {
      const fast = plainContentType(value);
      expect(fast).toBeDefined();
      expect(kept(fast!)).toEqual(kept(libmime.parseHeaderValue(value)));
    });
  }

  const other = [
    'text/plain; charset=utf-8 (comment)',
    "application/pdf; name*=utf-8''na%C3%AFve.pdf",
    'application/pdf; name*0="a"; name*1="b"',
    'application/pdf; name="=?utf-8?q?na=C3=AFve?=.pdf"',
    'text/plain; name="a\\"b"',
    'text/plain; charset=utf-8; charset=latin1',
    'text/plain; charset=utf-8; Charset=latin1',
    'text/plain; boundary==abc',
    'text',
    '',
  ];
  for (const value of other) {
    it(`leaves ${JSON.stringify(value)} to libmime`, () => {
      expect(plainContentType(value)).toBeUndefined();
    });
  }
});
