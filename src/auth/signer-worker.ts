/**
 * One thread of the signer pool (signer-pool.ts): loads the keys from their files itself (no
 * key crosses a message port), then signs the copies it is sent, one at a time.
 *
 * A worker starts at the list's first copy and again after a crash, so a key file replaced
 * since the configuration was loaded (and its DNS record checked) would sign with a key no
 * receiver knows. The worker compares what it loaded with the keys the pool expects and, when
 * one differs, signs nothing: every copy fails as a self-check failure naming the file.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { type CopySigner, createCopySigner } from './copy-signer.ts';
import { type DkimKeyOptions, loadSigningKey, type SigningKey } from './keys.ts';
import { messageIdOf, SelfCheckError } from './self-check.ts';
import type { SignBatch, SignResponse, WorkerSetup } from './signer-pool.ts';

const setup = workerData as WorkerSetup;
const port = parentPort!;
const load = (key: DkimKeyOptions) => loadSigningKey(key);

/** Why `key` is not the expected one, or undefined when it is (or nothing is expected). */
function replaced(key: SigningKey, expected: Uint8Array | undefined): string | undefined {
  if (!expected) return undefined;
  const own = key.publicKey.export({ type: 'spki', format: 'der' });
  if (own.equals(Buffer.from(expected))) return undefined;
  const was = createPublicKey({ key: Buffer.from(expected), format: 'der', type: 'spki' });
  return `the key file ${key.keyFile} (${key.selector}._domainkey.${key.domain}) now holds ${describe(key.publicKey)}, not the ${describe(was)} loaded with the configuration: its signatures would not verify against the published record. Put the configured key back, or publish the new key's record (malist check shows it) and restart malist`;
}

/** A key as the operator can compare it: type, size, and the start of its SHA-256 fingerprint. */
function describe(key: KeyObject): string {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  const spki = key.export({ type: 'spki', format: 'der' });
  return `${key.asymmetricKeyType}${bits ? ` ${bits}` : ''} key (SPKI SHA-256 ${createHash('sha256').update(spki).digest('hex').slice(0, 16)}…)`;
}

const ready = (async (): Promise<CopySigner> => {
  const dkim = await Promise.all(setup.dkim.map(load));
  const arc = setup.arc ? await load(setup.arc) : undefined;
  const problems = [
    ...dkim.map((key, i) => replaced(key, setup.expect?.dkim[i])),
    arc && replaced(arc, setup.expect?.arc),
  ].filter((p): p is string => p !== undefined);
  if (problems.length > 0)
    return {
      sign: async (raw) => {
        throw new SelfCheckError(problems, messageIdOf(raw));
      },
    };
  return createCopySigner({ dkim, arc, selfCheck: setup.selfCheck });
})();

/** A batch's copies one after another; the answers go back as one message. */
port.on('message', async ({ copies }: SignBatch) => {
  const signer = await ready;
  const replies: SignResponse[] = [];
  // A signed copy that owns its memory (Buffer.concat of more than 4 KB does) is moved to
  // the main thread, not cloned.
  const moved: ArrayBuffer[] = [];
  for (const { id, raw, seal } of copies) {
    try {
      const signed = await signer.sign(Buffer.from(raw.buffer, raw.byteOffset, raw.length), seal);
      if (
        signed.byteOffset === 0 &&
        signed.byteLength === signed.buffer.byteLength &&
        signed.buffer instanceof ArrayBuffer
      )
        moved.push(signed.buffer);
      replies.push({ id, raw: signed });
    } catch (error) {
      replies.push({
        id,
        error: error instanceof Error ? error.message : String(error),
        ...(error instanceof SelfCheckError
          ? { problems: [...error.problems], messageId: error.messageId }
          : {}),
      });
    }
  }
  port.postMessage(replies, moved);
});
