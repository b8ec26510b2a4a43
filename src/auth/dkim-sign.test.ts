import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dnsFor, testKey } from '../../test/helpers/auth-keys.ts';
import { createDkimSigner, OVERSIGNED } from './dkim-sign.ts';
import { dkimVerify } from './mailauth.ts';

const rsa = testKey('rsa-sha256', 'list.example.org', 'r1');
const ed = testKey('ed25519-sha256', 'list.example.org', 'e1');
const dns = dnsFor([rsa, ed]);
const fixture = (name: string) =>
  readFileSync(join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'auth', name));
const post = Buffer.from(
  'From: Alice <alice@example.org>\r\nTo: red@list.example.org\r\nSubject: Hi\r\n' +
    'Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <1@example.org>\r\n' +
    'List-Id: <red.list.example.org>\r\nList-Unsubscribe: <mailto:red-leave@list.example.org>\r\n' +
    'Received: from a by b\r\nCc: bob@example.net\r\n\r\nHello  there \r\n\r\n\r\n',
  'latin1',
);

const results = async (raw: Buffer) =>
  (await dkimVerify(raw, { resolver: dns })).results.map((r) => [
    r.selector,
    r.status.result,
    r.status.comment ?? '',
  ]);

describe('createDkimSigner', () => {
  it('puts one signature per key on top and keeps every byte of the copy', async () => {
    const signed = createDkimSigner([rsa, ed]).sign(post);
    expect(signed.subarray(signed.length - post.length).equals(post)).toBe(true);
    expect(signed.toString('latin1')).toMatch(
      /^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed;\r\n d=list\.example\.org; s=r1; /,
    );
    expect(await results(signed)).toEqual([
      ['r1', 'pass', ''],
      ['e1', 'pass', ''],
    ]);
  });

  it('signs the listed fields present, and oversigns the issue list (each once more)', () => {
    const [field] = createDkimSigner([ed]).signatures(post);
    const h = /h=([^;]*);/.exec(field!)![1]!.replace(/\s+/g, '').split(':');
    for (const name of OVERSIGNED) {
      const present = /^(From|To|Subject|Date|Message-ID|List-Id|List-Unsubscribe)$/.test(name);
      expect(h.filter((n) => n === name).length, name).toBe(present ? 2 : 1);
    }
    expect(h).toContain('Cc');
    expect(h).not.toContain('Received');
    expect(field!.split('\r\n').every((line) => line.length <= 80)).toBe(true);
  });

  it('breaks when a signed field is added, changed, or the body changes', async () => {
    const signed = createDkimSigner([ed]).sign(post).toString('latin1');
    const variants = [
      signed.replace(
        '\r\n\r\nHello',
        '\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\nHello',
      ),
      signed.replace('Subject: Hi', 'Subject: Ho'),
      signed.replace('Hello', 'Hullo'),
    ];
    for (const variant of variants) {
      const [[, result]] = (await results(Buffer.from(variant, 'latin1'))) as [[string, string]];
      expect(result).not.toBe('pass');
    }
    // Unsigned fields and whitespace the relaxed canonicalisation ignores do not break it.
    const tolerated = signed
      .replace('Received: from a by b', 'Received: from c by d')
      .replace('Hi\r\n', 'Hi   \r\n');
    expect(await results(Buffer.from(tolerated, 'latin1'))).toEqual([['e1', 'pass', '']]);
  });

  it('uses the copy line ending for its fields, and signs 8-bit and LF-only copies', async () => {
    const lf = Buffer.from(
      post.toString('latin1').replace(/\r\n/g, '\n').replace('Hello', 'Hélló'),
      'latin1',
    );
    const signed = createDkimSigner([rsa]).sign(lf);
    expect(signed.includes('\r')).toBe(false);
    expect(await results(signed)).toEqual([['r1', 'pass', '']]);
  });

  it('refuses a copy without From', () => {
    expect(() => createDkimSigner([ed]).sign(Buffer.from('To: a@b\r\n\r\nx'))).toThrow(
      /without a From field/,
    );
  });

  it('writes t= from the clock it is given', () => {
    const [field] = createDkimSigner([ed], { now: () => new Date(1_700_000_000_000) }).signatures(
      post,
    );
    expect(field).toMatch(/ t=1700000000;/);
  });

  it.each(['plain-post.eml', 'eight-bit.eml', 'multipart-signed.eml', 'author-signed.eml'])(
    'signs the corpus message %s so that mailauth verifies it',
    async (name) => {
      const signed = createDkimSigner([rsa, ed]).sign(fixture(name));
      const own = (await results(signed)).filter(([s]) => s === 'r1' || s === 'e1');
      expect(own).toEqual([
        ['r1', 'pass', ''],
        ['e1', 'pass', ''],
      ]);
    },
  );
});
