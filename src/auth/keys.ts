/**
 * DKIM keys: loaded from files only (a private key never sits in YAML), parsed once into
 * KeyObjects (parsing a PEM costs more than an ed25519 signature, so it is never done per
 * copy), the public half derived from the private one, and the DNS TXT record that publishes
 * it. Rotation by selector: a key's `previous` selector stays published while mail it signed
 * is in flight, and only the key itself signs.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { domainToASCII } from 'node:url';

/** The two algorithms a list may sign with (RFC 6376, RFC 8463). */
export type DkimAlgorithm = 'rsa-sha256' | 'ed25519-sha256';

export const DKIM_ALGORITHMS: readonly DkimAlgorithm[] = ['rsa-sha256', 'ed25519-sha256'];

/**
 * One signing key of a list, as the list's `dkim:` setting names it.
 * @example { domain: 'list.example.org', selector: 's2025', key_file: 'keys/red.s2025.pem', algorithm: 'rsa-sha256' }
 */
export interface DkimKeyOptions {
  /** The signing domain (d=): the list's domain, so the signature aligns with its From. */
  domain: string;
  /** The selector (s=): the key is published at `SELECTOR._domainkey.DOMAIN`. */
  selector: string;
  /** PEM file of the private key (PKCS#8 or PKCS#1), readable by malist only (mode 0600). */
  key_file: string;
  /** @default the key's own type */
  algorithm?: DkimAlgorithm;
  /**
   * The selector this key replaces: still published (`malist check` checks its record) so
   * that mail signed with it stays verifiable, but it never signs.
   */
  previous?: { selector: string; key_file: string };
}

/** A parsed key, ready to sign with: what every signature of a list copy uses. */
export interface SigningKey {
  readonly domain: string;
  readonly selector: string;
  readonly algorithm: DkimAlgorithm;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** Where the key came from (for messages: a key's bytes are never printed). */
  readonly keyFile: string;
}

/** The DNS record that publishes a key. */
export interface DkimTxtRecord {
  /** `SELECTOR._domainkey.DOMAIN` */
  name: string;
  /** The record text: `v=DKIM1; k=rsa; p=…` */
  text: string;
  /** A zone-file line, the text split into strings of at most 255 characters. */
  zone: string;
}

/** An RSA key under this many bits is refused (RFC 8301 section 3.2). */
const MIN_RSA_BITS = 1024;
/** The DER prefix of an ed25519 SubjectPublicKeyInfo; the raw key follows (RFC 8410). */
export const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** The algorithm a key object signs with, or an error naming the file. */
function algorithmOf(key: KeyObject, file: string): DkimAlgorithm {
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519-sha256';
  if (key.asymmetricKeyType === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS)
      throw new Error(`${file}: RSA key of ${bits} bits; DKIM needs at least ${MIN_RSA_BITS}`);
    return 'rsa-sha256';
  }
  throw new Error(
    `${file}: a ${key.asymmetricKeyType} key; DKIM signs with RSA or ed25519 keys only`,
  );
}

/** Parses a private key PEM into a signing key; errors name the file, never the bytes. */
export function signingKeyFrom(
  pem: Buffer | string,
  opts: Omit<DkimKeyOptions, 'previous'>,
): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch (error) {
    throw new Error(`${opts.key_file}: not a PEM private key`, { cause: error });
  }
  const algorithm = algorithmOf(privateKey, opts.key_file);
  if (opts.algorithm && opts.algorithm !== algorithm)
    throw new Error(
      `${opts.key_file}: the key signs ${algorithm}, but algorithm: ${opts.algorithm} is configured`,
    );
  return {
    domain: signingDomain(opts.domain, opts.key_file),
    selector: selectorOf(opts.selector, opts.key_file),
    algorithm,
    privateKey,
    publicKey: createPublicKey(privateKey),
    keyFile: opts.key_file,
  };
}

/** The d= value: lower case, IDN as A-labels (RFC 8616), no root dot. */
function signingDomain(domain: string, file: string): string {
  const ascii = domainToASCII(domain.trim().replace(/\.$/, ''));
  if (!ascii?.includes('.'))
    throw new Error(`${file}: DKIM domain ${JSON.stringify(domain)} is not a domain name`);
  return ascii;
}

/** The s= value: dot-separated labels of letters, digits, '-' and '_' (RFC 6376 3.1). */
function selectorOf(selector: string, file: string): string {
  if (!/^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/.test(selector))
    throw new Error(`${file}: DKIM selector ${JSON.stringify(selector)} is not a DNS label`);
  return selector;
}

/** Reads and parses a key file. */
export async function loadSigningKey(opts: DkimKeyOptions): Promise<SigningKey> {
  let pem: Buffer;
  try {
    pem = await readFile(opts.key_file);
  } catch (error) {
    throw new Error(`cannot read the DKIM key file ${opts.key_file}`, { cause: error });
  }
  return signingKeyFrom(pem, opts);
}

/**
 * The keys that sign (one per configured key: several make a dual signature) and the ones
 * only published (their `previous` selectors), each checked for duplicates.
 */
export function keyRoles(list: readonly DkimKeyOptions[]): {
  signing: DkimKeyOptions[];
  published: DkimKeyOptions[];
} {
  const seen = new Set<string>();
  const published: DkimKeyOptions[] = [];
  const note = (key: DkimKeyOptions) => {
    const id = `${key.selector}._domainkey.${key.domain}`.toLowerCase();
    if (seen.has(id)) throw new Error(`DKIM selector ${id} is configured twice`);
    seen.add(id);
    published.push(key);
  };
  for (const key of list) {
    note(key);
    if (key.previous) note({ ...key, ...key.previous, previous: undefined });
  }
  return { signing: [...list], published };
}

/** The public key as the `p=` of a DKIM record: SPKI for RSA, the raw 32 bytes for ed25519. */
export function publicKeyData(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  if (publicKey.asymmetricKeyType === 'ed25519')
    return der.subarray(ED25519_SPKI_PREFIX.length).toString('base64');
  return der.toString('base64');
}

/** The DNS TXT record that publishes `key`. */
export function dkimTxtRecord(key: {
  domain: string;
  selector: string;
  publicKey: KeyObject;
}): DkimTxtRecord {
  const k = key.publicKey.asymmetricKeyType === 'ed25519' ? 'ed25519' : 'rsa';
  const text = `v=DKIM1; k=${k}; p=${publicKeyData(key.publicKey)}`;
  const name = `${key.selector}._domainkey.${key.domain}`;
  const strings = text.match(/.{1,255}/g) ?? [];
  return { name, text, zone: `${name}. IN TXT ( ${strings.map((s) => `"${s}"`).join(' ')} )` };
}

/** What `generateKey` makes. */
export interface GenerateKeyOptions {
  algorithm: DkimAlgorithm;
  /** Where the private key goes; an existing file is never overwritten. */
  file: string;
  domain: string;
  selector: string;
  /** RSA modulus. @default 2048 */
  bits?: number;
}

/**
 * Makes a key pair, writes the private key (PKCS#8 PEM) to a new file of mode 0600, synced
 * to disk, and returns the record to publish. Refuses to overwrite a file: rotating a key
 * means a new selector and a new file, the old key staying until its record is retired.
 */
export async function generateKey(opts: GenerateKeyOptions): Promise<DkimTxtRecord> {
  const { privateKey, publicKey } =
    opts.algorithm === 'ed25519-sha256'
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('rsa', { modulusLength: opts.bits ?? 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' });
  const handle = await open(opts.file, 'wx', 0o600);
  try {
    // The mode given to open() passes through the umask; chmod makes it exactly 0600.
    await handle.chmod(0o600);
    await handle.writeFile(pem);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return dkimTxtRecord({ domain: opts.domain, selector: opts.selector, publicKey });
}
