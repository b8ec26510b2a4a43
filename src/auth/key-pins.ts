/**
 * Which key each selector signs with, remembered across restarts: the first time malist signs
 * with a key of `SELECTOR._domainkey.DOMAIN` it records the key's public fingerprint in the
 * state directory; a later process whose key file for that selector holds another key signs
 * nothing with it. Receivers look the selector up in DNS, and DNS publishes one key per
 * selector: a key file replaced while malist was stopped (a restored backup, a `keygen`
 * into the wrong file, a configuration copied from another host) would otherwise sign every
 * copy with a signature no receiver can verify, and the self-check, which derives the
 * public key from that same file, would pass it.
 *
 * Rotation is by selector (DESIGN.md: a new selector signs, the old stays published), and a
 * new selector has no record: it is recorded at its first signature. A deliberate re-key of
 * the same selector (its DNS record already changed) is accepted with
 * `malist dkim accept-key --list NAME`, which records the list's current keys.
 *
 * Records: `state_dir/dkim-keys/SELECTOR._domainkey.DOMAIN.json`, one a selector (so two
 * lists sharing a selector share its record), written atomically.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurable, writeFileDurableOnce } from '../state/durable.ts';
import type { SigningKey } from './keys.ts';

/** What is remembered of a selector's key. */
export interface KeyPin {
  /** `SELECTOR._domainkey.DOMAIN` */
  name: string;
  algorithm: string;
  /** SHA-256 of the public key (SPKI DER), hex. */
  spki_sha256: string;
  /** The key file it came from when it was recorded. */
  key_file: string;
  /** When it was recorded (ISO 8601). */
  recorded: string;
}

/** A key whose selector is recorded with another key. */
export interface KeyMismatch {
  key: SigningKey;
  pinned: KeyPin;
  fingerprint: string;
}

/** The SHA-256 fingerprint (hex) of a public key's SPKI DER. */
export function keyFingerprint(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

function nameOf(key: SigningKey): string {
  return `${key.selector}._domainkey.${key.domain}`;
}

/** The records of the keys malist has signed with, in `stateDir`. */
export interface KeyPins {
  /**
   * Compares `keys` with their records; records the keys whose selector has none. Resolves
   * the keys whose selector is recorded with another key (empty when all match).
   */
  check(keys: readonly SigningKey[]): Promise<KeyMismatch[]>;
  /**
   * Records `keys` as their selectors' keys, replacing what was recorded; resolves each
   * selector's key (once) with what was recorded before.
   */
  accept(keys: readonly SigningKey[]): Promise<Array<{ key: SigningKey; was?: KeyPin }>>;
  /** The record of `key`'s selector, if any. */
  read(key: SigningKey): Promise<KeyPin | undefined>;
}

/** The key records under `stateDir/dkim-keys`. */
export function keyPins(stateDir: string, now: () => Date = () => new Date()): KeyPins {
  const dir = join(stateDir, 'dkim-keys');
  const fileOf = (key: SigningKey) => join(dir, `${encodeURIComponent(nameOf(key))}.json`);
  const read = async (key: SigningKey): Promise<KeyPin | undefined> => {
    let text: string;
    try {
      text = await readFile(fileOf(key), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      return JSON.parse(text) as KeyPin;
    } catch {
      throw new Error(
        `${fileOf(key)} is not the JSON record of a DKIM key; remove it and run malist dkim accept-key to record the current key`,
      );
    }
  };
  const pinOf = (key: SigningKey): string => {
    const pin: KeyPin = {
      name: nameOf(key),
      algorithm: key.algorithm,
      spki_sha256: keyFingerprint(key.publicKey),
      key_file: key.keyFile,
      recorded: now().toISOString(),
    };
    return `${JSON.stringify(pin, null, 2)}\n`;
  };
  return {
    read,
    async check(keys) {
      const mismatches: KeyMismatch[] = [];
      for (const key of unique(keys)) {
        const fingerprint = keyFingerprint(key.publicKey);
        // A new selector is recorded by the first process to sign with it: of two signing
        // at once with different keys (two hosts' copies of one configuration), the second
        // finds the first's record and signs nothing with its own key.
        const pinned =
          (await read(key)) ??
          ((await writeFileDurableOnce(fileOf(key), pinOf(key), { mode: 0o640 }))
            ? undefined
            : await read(key));
        if (pinned && pinned.spki_sha256 !== fingerprint)
          mismatches.push({ key, pinned, fingerprint });
      }
      return mismatches;
    },
    async accept(keys) {
      const accepted: Array<{ key: SigningKey; was?: KeyPin }> = [];
      for (const key of unique(keys)) {
        const was = await read(key);
        await writeFileDurable(fileOf(key), pinOf(key), { mode: 0o640 });
        accepted.push(was ? { key, was } : { key });
      }
      return accepted;
    },
  };
}

/** Each selector once (the ARC key is often the rsa DKIM key). */
function unique(keys: readonly SigningKey[]): SigningKey[] {
  const seen = new Map<string, SigningKey>();
  for (const key of keys) if (!seen.has(nameOf(key))) seen.set(nameOf(key), key);
  return [...seen.values()];
}

/** Why copies are not signed with `m.key`, naming the file, the selector and both keys. */
export function mismatchProblem(m: KeyMismatch, list?: string): string {
  const short = (hex: string) => `SHA-256 ${hex.slice(0, 16)}…`;
  return (
    `the key file ${m.key.keyFile} holds a key (${short(m.fingerprint)}) that is not the one ` +
    `${nameOf(m.key)} has signed with (${short(m.pinned.spki_sha256)}, from ${m.pinned.key_file}, ` +
    `recorded ${m.pinned.recorded}): receivers would check its signatures against the published ` +
    `record and fail them. Put the old key back; or, if the key was replaced on purpose and ` +
    `its DNS record published (malist check compares it), run malist dkim accept-key` +
    `${list ? ` --list ${list}` : ''}; or sign with a new selector`
  );
}
