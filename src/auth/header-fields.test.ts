import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  parseHeaderFields,
  relaxedField,
  signedFieldRows,
  stripSignatureValue,
} from './header-fields.ts';
import {
  formatRelaxedLine,
  getSigningHeaderLines,
  stripSignatureValue as mailauthStrip,
  parseHeaders,
} from './mailauth.ts';

/** Header text made of the pieces that decide parsing and canonicalisation. */
const headerText = fc
  .array(
    fc.constantFrom(
      'From',
      'subject',
      'DKIM-Signature',
      'X-É',
      ':',
      ' ',
      '\t',
      '  ',
      '\r\n',
      '\n',
      '\r\n ',
      '\n\t',
      'a',
      'é',
      '\xa0',
      '\xc2\xa0',
      ';',
      'b=',
      ' b =',
      'B=',
      'h=',
      '=',
    ),
    { maxLength: 30 },
  )
  .map((parts) => parts.join(''));

describe("header-fields: mailauth 7.1's bytes without loading lib/tools.js", () => {
  it('parseHeaderFields splits fields as parseHeaders does', () => {
    fc.assert(
      fc.property(headerText, (text) => {
        const raw = Buffer.from(text, 'latin1');
        const ours = parseHeaderFields(raw);
        const theirs = parseHeaders(raw).parsed;
        expect(ours.map((r) => [r.key, r.casedKey || undefined, r.line])).toEqual(
          theirs.map((r) => [r.key, r.casedKey || undefined, r.line]),
        );
      }),
      { numRuns: 2000 },
    );
  });

  it('relaxedField and stripSignatureValue give formatRelaxedLine and stripSignatureValue bytes', () => {
    fc.assert(
      fc.property(headerText, (text) => {
        const raw = Buffer.from(text, 'latin1');
        expect(relaxedField(raw, '\r\n')).toEqual(formatRelaxedLine(raw, '\r\n'));
        expect(relaxedField(text)).toEqual(formatRelaxedLine(text));
        expect(stripSignatureValue(raw)).toEqual(mailauthStrip(raw));
      }),
      { numRuns: 2000 },
    );
  });

  it("signedFieldRows picks h='s fields as mailauth's verifier does (last first, each once)", () => {
    const names = fc.constantFrom('From', 'To', 'subject', 'X-A', ' To ', 'from', 'Nope');
    const field = fc.tuple(names, fc.constantFrom('1', '2', '3')).map(([n, v]) => `${n}: ${v}`);
    fc.assert(
      fc.property(
        fc.array(field, { maxLength: 8 }),
        fc.array(names, { maxLength: 8 }),
        (fields, h) => {
          const rows = parseHeaderFields(Buffer.from(fields.join('\r\n'), 'latin1'));
          const list = h.join(':');
          expect(signedFieldRows(rows, list)).toEqual(
            getSigningHeaderLines(rows, list, true).headers,
          );
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('signing, sealing and the self-check load no mailauth module at all', async () => {
    const { execFileSync } = await import('node:child_process');
    const script = `
      import { generateKeyPairSync } from 'node:crypto';
      import { createRequire } from 'node:module';
      import { createCopySigner } from './src/auth/copy-signer.ts';
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      const key = { domain: 'example.test', selector: 's', algorithm: 'ed25519-sha256', keyFile: 'k', privateKey, publicKey };
      const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
      const arc = { domain: 'example.test', selector: 'a', algorithm: 'rsa-sha256', keyFile: 'a', ...rsa };
      const signer = createCopySigner({ dkim: [key], arc, selfCheck: true });
      const plan = { authResults: 'example.test; dkim=none', cv: 'none' };
      await signer.sign(Buffer.from('From: a@example.test\\r\\nSubject: x\\r\\n\\r\\nhi\\r\\n'), plan);
      await signer.sign(Buffer.from('From: a@example.test\\nSubject: x\\n\\nhi\\n'));
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((p) => p.includes('mailauth'));
      console.log(JSON.stringify(loaded));`;
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        encoding: 'utf8',
      },
    );
    const loaded = JSON.parse(out.trim().split('\n').pop() ?? '[]') as string[];
    // Not lib/tools.js (~0.3 s of CPU), nor its tag-list parser and body canonicaliser
    // (~15 ms): tag-list.ts and signature-check.ts have their own.
    expect(loaded).toEqual([]);
  }, 60_000);
});
