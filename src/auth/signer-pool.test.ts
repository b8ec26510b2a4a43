import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dnsFor, testKey, testKeyPem } from '../../test/helpers/auth-keys.ts';
import { createSignerPool, type SignerPool } from './signer-pool.ts';
import { verifyIncoming } from './verify.ts';

const pools: SignerPool[] = [];
afterAll(() => Promise.all(pools.map((p) => p.close())));

async function keyFile(algorithm: 'rsa-sha256' | 'ed25519-sha256', selector: string) {
  const dir = await mkdtemp(join(tmpdir(), 'malist-pool-'));
  const file = join(dir, `${selector}.pem`);
  await writeFile(file, testKeyPem(algorithm, `${selector}.list.example.org`), { mode: 0o600 });
  return { domain: 'list.example.org', selector, key_file: file };
}

const copyFor = (i: number) =>
  Buffer.from(
    `From: a@example.org\r\nTo: red@list.example.org\r\nSubject: ${i}\r\n\r\nfor member ${i}\r\n`,
  );

describe('createSignerPool', () => {
  it('signs copies on worker threads that load the key files themselves', async () => {
    const [rsa, ed] = [await keyFile('rsa-sha256', 'r1'), await keyFile('ed25519-sha256', 'e1')];
    const pool = createSignerPool({ dkim: [rsa, ed], arc: rsa, threads: 2 });
    pools.push(pool);
    const resolver = dnsFor([
      testKey('rsa-sha256', 'list.example.org', 'r1'),
      testKey('ed25519-sha256', 'list.example.org', 'e1'),
    ]);
    const plan = { authResults: 'list.example.org; none', cv: 'none' as const };
    const copies = await Promise.all(
      [1, 2, 3, 4, 5].map((i) => pool.sign(copyFor(i), i % 2 ? plan : undefined)),
    );
    for (const [i, copy] of copies.entries()) {
      expect(copy.toString('latin1').endsWith(`for member ${i + 1}\r\n`)).toBe(true);
      const seen = await verifyIncoming(copy, { resolver, authservId: 'mx.example.net' });
      expect(seen.dkim.map((d) => d.result)).toEqual(['pass', 'pass']);
      expect(seen.arc.result).toBe(i % 2 ? 'none' : 'pass');
    }
  });

  it("passes a worker's refusal back to the caller, and refuses work once closed", async () => {
    const pool = createSignerPool({ dkim: [await keyFile('ed25519-sha256', 'e1')], threads: 1 });
    await expect(pool.sign(Buffer.from('To: x@example.org\r\n\r\nno From\r\n'))).rejects.toThrow(
      /without a From field/,
    );
    await pool.close();
    await expect(pool.sign(copyFor(1))).rejects.toThrow(/closed/);
  });

  it('fails every copy when a key file cannot be read, naming the file', async () => {
    const pool = createSignerPool({
      dkim: [{ domain: 'list.example.org', selector: 'x', key_file: '/nonexistent/x.pem' }],
      threads: 1,
    });
    pools.push(pool);
    await expect(pool.sign(copyFor(1))).rejects.toThrow(
      'cannot read the DKIM key file /nonexistent/x.pem',
    );
  });
});
