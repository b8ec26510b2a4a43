/**
 * The private- and public-key operation of a DKIM or ARC signature over its canonical data:
 * RSA signs the data with SHA-256; ed25519 signs the SHA-256 hash of it (RFC 8463 section 3).
 */
import { createHash, type KeyObject, sign, verify } from 'node:crypto';
import type { DkimAlgorithm } from './keys.ts';

/** What `a=` asks ed25519 to sign: the hash, not the data. */
function signed(algorithm: DkimAlgorithm, data: Buffer): Buffer {
  return algorithm === 'ed25519-sha256' ? createHash('sha256').update(data).digest() : data;
}

/** The b= value (base64) of `data` under `key`. */
export function signCanonical(
  key: { algorithm: DkimAlgorithm; privateKey: KeyObject },
  data: Buffer,
): string {
  const digest = key.algorithm === 'ed25519-sha256' ? null : 'sha256';
  return sign(digest, signed(key.algorithm, data), key.privateKey).toString('base64');
}

/** Whether `b` (base64, whitespace allowed) is a signature of `data` under `key`. */
export function verifyCanonical(
  key: { algorithm: DkimAlgorithm; publicKey: KeyObject },
  data: Buffer,
  b: string,
): boolean {
  const digest = key.algorithm === 'ed25519-sha256' ? null : 'sha256';
  const signature = Buffer.from(b.replace(/\s+/g, ''), 'base64');
  try {
    return verify(digest, signed(key.algorithm, data), key.publicKey, signature);
  } catch {
    return false;
  }
}
