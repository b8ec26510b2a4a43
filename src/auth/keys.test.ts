import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testKeyPem } from '../../test/helpers/auth-keys.ts';
import {
  dkimTxtRecord,
  generateKey,
  keyRoles,
  loadSigningKey,
  publicKeyData,
  signingKeyFrom,
} from './keys.ts';

const base = { domain: 'List.Example.ORG.', selector: 's1', key_file: 'k.pem' };

describe('signingKeyFrom', () => {
  it('parses once into key objects, derives the public key and the algorithm from the key', () => {
    const key = signingKeyFrom(testKeyPem('ed25519-sha256', 'k'), base);
    expect(key.algorithm).toBe('ed25519-sha256');
    expect(key.domain).toBe('list.example.org');
    expect(key.publicKey.type).toBe('public');
    expect(signingKeyFrom(testKeyPem('rsa-sha256', 'k'), base).algorithm).toBe('rsa-sha256');
  });

  it('writes an IDN signing domain as A-labels', () => {
    const key = signingKeyFrom(testKeyPem('ed25519-sha256', 'k'), {
      ...base,
      domain: 'lïst.example',
    });
    expect(key.domain).toBe('xn--lst-zma.example');
  });

  it('refuses a wrong algorithm, a short RSA key, a non-key, a bad selector, naming the file only', () => {
    const ed = testKeyPem('ed25519-sha256', 'k');
    expect(() => signingKeyFrom(ed, { ...base, algorithm: 'rsa-sha256' })).toThrow(
      /k\.pem: the key signs ed25519-sha256, but algorithm: rsa-sha256/,
    );
    const short = generateKeyPairSync('rsa', { modulusLength: 512 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    expect(() => signingKeyFrom(short, base)).toThrow(/512 bits; DKIM needs at least 1024/);
    let message = '';
    try {
      signingKeyFrom('-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----', base);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe('k.pem: not a PEM private key');
    expect(() => signingKeyFrom(ed, { ...base, selector: 'a b' })).toThrow(/not a DNS label/);
  });
});

describe('dkimTxtRecord', () => {
  it('publishes ed25519 as the raw 32-byte key (RFC 8463) and RSA as SubjectPublicKeyInfo', () => {
    const ed = signingKeyFrom(testKeyPem('ed25519-sha256', 'k'), base);
    const record = dkimTxtRecord(ed);
    expect(record.name).toBe('s1._domainkey.list.example.org');
    expect(record.text).toMatch(/^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);
    const rsa = signingKeyFrom(testKeyPem('rsa-sha256', 'k'), base);
    const p = dkimTxtRecord(rsa).text.split('p=')[1]!;
    const published = createPublicKey({
      key: Buffer.from(p, 'base64'),
      format: 'der',
      type: 'spki',
    });
    expect(published.equals(rsa.publicKey)).toBe(true);
    expect(publicKeyData(rsa.publicKey)).toBe(p);
  });

  it('gives a zone-file line with strings of at most 255 characters', () => {
    const rsa = signingKeyFrom(testKeyPem('rsa-sha256', 'k'), base);
    const { zone, text } = dkimTxtRecord(rsa);
    const strings = [...zone.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
    expect(strings.every((s) => s.length <= 255)).toBe(true);
    expect(strings.join('')).toBe(text);
    expect(zone.startsWith('s1._domainkey.list.example.org. IN TXT ( "')).toBe(true);
  });
});

describe('generateKey and loadSigningKey', () => {
  it('writes a new key file of mode 0600, never over an existing one, and returns its record', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'malist-keys-'));
    const file = join(dir, 'red.pem');
    const record = await generateKey({
      algorithm: 'ed25519-sha256',
      file,
      domain: 'list.example.org',
      selector: 's2025',
    });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const key = await loadSigningKey({
      domain: 'list.example.org',
      selector: 's2025',
      key_file: file,
    });
    expect(dkimTxtRecord(key)).toEqual(record);
    const before = await readFile(file);
    await expect(
      generateKey({ algorithm: 'rsa-sha256', file, domain: 'list.example.org', selector: 'x' }),
    ).rejects.toThrow(/EEXIST/);
    expect((await readFile(file)).equals(before)).toBe(true);
  });

  it('makes RSA keys of 2048 bits by default', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'malist-keys-'));
    const file = join(dir, 'rsa.pem');
    await generateKey({ algorithm: 'rsa-sha256', file, domain: 'list.example.org', selector: 'r' });
    const key = await loadSigningKey({ domain: 'list.example.org', selector: 'r', key_file: file });
    expect(key.privateKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
  });

  it('names the file when it cannot be read', async () => {
    await expect(
      loadSigningKey({ domain: 'list.example.org', selector: 'r', key_file: '/nonexistent/k.pem' }),
    ).rejects.toThrow('cannot read the DKIM key file /nonexistent/k.pem');
  });

  it('reads PKCS#1 PEM as well', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'malist-keys-'));
    const file = join(dir, 'pkcs1.pem');
    const pair = generateKeyPairSync('rsa', { modulusLength: 1024 });
    await writeFile(file, pair.privateKey.export({ type: 'pkcs1', format: 'pem' }));
    const key = await loadSigningKey({ domain: 'list.example.org', selector: 'r', key_file: file });
    expect(key.publicKey.equals(pair.publicKey)).toBe(true);
  });
});

describe('keyRoles', () => {
  it('signs with every configured key and publishes their previous selectors too', () => {
    const roles = keyRoles([
      {
        ...base,
        domain: 'list.example.org',
        selector: 'new',
        previous: { selector: 'old', key_file: 'old.pem' },
      },
      { ...base, domain: 'list.example.org', selector: 'ed', key_file: 'ed.pem' },
    ]);
    expect(roles.signing.map((k) => k.selector)).toEqual(['new', 'ed']);
    expect(roles.published.map((k) => `${k.selector}:${k.key_file}`)).toEqual([
      'new:k.pem',
      'old:old.pem',
      'ed:ed.pem',
    ]);
  });

  it('refuses a selector configured twice', () => {
    expect(() => keyRoles([base, { ...base, key_file: 'other.pem' }])).toThrow(/configured twice/);
  });
});
