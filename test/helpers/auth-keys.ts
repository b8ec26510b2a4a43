/**
 * Throw-away DKIM keys for the auth tests, made once per test process, a DNS that publishes
 * them (the tests never query real DNS), and a blank verification verdict.
 */
import { generateKeyPairSync } from 'node:crypto';
import {
  type DkimAlgorithm,
  dkimTxtRecord,
  type SigningKey,
  signingKeyFrom,
} from '../../src/auth/keys.ts';
import { type DnsResolver, type StaticRecords, staticResolver } from '../../src/auth/resolver.ts';
import type { AuthVerdict } from '../../src/auth/verify.ts';

const pems = new Map<string, string>();

/** The PEM of a key made for `name` (the same for the same name within a process). */
export function testKeyPem(algorithm: DkimAlgorithm, name: string): string {
  const id = `${algorithm}:${name}`;
  let pem = pems.get(id);
  if (!pem) {
    const pair =
      algorithm === 'ed25519-sha256'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
    pem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    pems.set(id, pem);
  }
  return pem;
}

/** A signing key for `selector._domainkey.domain`. */
export function testKey(algorithm: DkimAlgorithm, domain: string, selector: string): SigningKey {
  return signingKeyFrom(testKeyPem(algorithm, `${selector}.${domain}`), {
    domain,
    selector,
    key_file: `test:${selector}.${domain}`,
  });
}

/** The TXT records publishing `keys`, by name. */
export function keyRecords(keys: readonly SigningKey[]): Record<string, string> {
  return Object.fromEntries(keys.map((k) => [dkimTxtRecord(k).name, dkimTxtRecord(k).text]));
}

/** A DNS serving `keys` and `extra` records, nothing else. */
export function dnsFor(keys: readonly SigningKey[], extra: StaticRecords = {}): DnsResolver {
  return staticResolver({ ...keyRecords(keys), ...extra });
}

/** A verdict of a post from bob@author.example in which nothing was checked; tests add to it. */
export function bareVerdict(over: Partial<AuthVerdict> = {}): AuthVerdict {
  return {
    authservId: 'list.example.org',
    from: { addresses: ['bob@author.example'], domains: ['author.example'], fields: 1 },
    dkim: [],
    spf: { result: 'none', source: 'none' },
    dmarc: { result: 'none', strictDkim: false, strictSpf: false },
    arc: { result: 'none', instance: 0 },
    results: [],
    ...over,
  };
}
