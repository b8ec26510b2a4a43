/**
 * Does DNS publish the key we sign with? `malist check` asks this for every configured
 * selector; a mismatch means every receiver sees a failing signature, so it is worth a loud
 * warning before the first post goes out.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { dkimTxtRecord, ED25519_SPKI_PREFIX } from './keys.ts';
import type { DnsResolver } from './resolver.ts';

/** The outcome of comparing a published record with a key. */
export interface PublishedKeyCheck {
  status: 'match' | 'mismatch' | 'missing' | 'error';
  /** The DNS name looked up. */
  name: string;
  /** The record to publish (what `malist dkim keygen` printed). */
  expected: string;
  /** What DNS holds, when it holds something. */
  published?: string;
  /** Why, in words for the operator. */
  detail: string;
}

const NO_RECORD = new Set(['ENOTFOUND', 'ENODATA']);

/** Compares the TXT record at `SELECTOR._domainkey.DOMAIN` with `key`'s public half. */
export async function checkPublishedKey(
  key: { domain: string; selector: string; publicKey: KeyObject },
  resolver: DnsResolver,
): Promise<PublishedKeyCheck> {
  const { name, text: expected } = dkimTxtRecord(key);
  let answers: unknown[];
  try {
    answers = await resolver(name, 'TXT');
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    if (NO_RECORD.has(code))
      return { status: 'missing', name, expected, detail: `no TXT record at ${name}` };
    return { status: 'error', name, expected, detail: `lookup of ${name} failed (${code})` };
  }
  const records = answers.map((a) => (Array.isArray(a) ? a.join('') : String(a)));
  const dkim = records.filter((r) => /(^|;)\s*p\s*=/.test(r));
  const result = (status: PublishedKeyCheck['status'], detail: string, published?: string) => ({
    status,
    name,
    expected,
    published,
    detail,
  });
  if (dkim.length === 0) return result('missing', `no DKIM record at ${name}`, records[0]);
  if (dkim.length > 1)
    return result('mismatch', `${dkim.length} DKIM records at ${name}; publish one`, dkim[0]);
  const published = dkim[0]!;
  return result(...compareRecord(published, key.publicKey), published);
}

/** Whether a record's k= and p= are this key. */
function compareRecord(record: string, publicKey: KeyObject): ['match' | 'mismatch', string] {
  const tags = new Map<string, string>();
  for (const part of record.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) tags.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1));
  }
  const p = (tags.get('p') ?? '').replace(/\s+/g, '');
  if (p === '') return ['mismatch', 'the published key is revoked (empty p=)'];
  const ownType = publicKey.asymmetricKeyType === 'ed25519' ? 'ed25519' : 'rsa';
  const k = (tags.get('k') ?? 'rsa').trim().toLowerCase();
  if (k !== ownType) return ['mismatch', `the record says k=${k}, the key is ${ownType}`];
  const published = parsePublished(p, ownType);
  const own = publicKey.export({ type: 'spki', format: 'der' });
  if (!published?.equals(own)) return ['mismatch', 'the published p= is a different key'];
  return ['match', 'the published record matches the key'];
}

/** A published p= as SPKI DER (raw ed25519, SPKI or bare PKCS#1 RSA), or undefined. */
function parsePublished(p: string, type: 'rsa' | 'ed25519'): Buffer | undefined {
  const raw = Buffer.from(p, 'base64');
  const candidates =
    type === 'ed25519' && raw.length === 32 ? [Buffer.concat([ED25519_SPKI_PREFIX, raw])] : [raw];
  for (const der of candidates) {
    for (const format of ['spki', 'pkcs1'] as const) {
      try {
        return createPublicKey({ key: der, format: 'der', type: format }).export({
          type: 'spki',
          format: 'der',
        });
      } catch {
        // not this encoding; try the next
      }
    }
  }
  return undefined;
}
