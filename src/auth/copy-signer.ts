/**
 * The queue's per-recipient step in one call: seal the copy (when the list seals), DKIM-sign
 * it, and self-check the result before it may leave. A copy whose personal footer or
 * one-click URL makes its bytes differ from the others needs all three for itself: the
 * ARC-Message-Signature and the DKIM signature both cover the body. A batched copy is
 * signed once and its bytes shared.
 */
import { createArcSealer, type SealPlan } from './arc-seal.ts';
import { createDkimSigner } from './dkim-sign.ts';
import type { SigningKey } from './keys.ts';
import { createSelfCheck } from './self-check.ts';

/** What copies are signed with. */
export interface CopySignerOptions {
  /** The list's DKIM keys: one signature each (dual-sign with rsa and ed25519). */
  dkim: readonly SigningKey[];
  /** The rsa-sha256 key that seals, when copies are sealed (`sign(raw, plan)`). */
  arc?: SigningKey;
  /** Verify each copy before returning it (no DNS). Off only for very large lists. @default true */
  selfCheck?: boolean;
  /** The signing time. @default the clock */
  now?: () => Date;
}

/** Signs copies; the same contract for one thread and for the worker pool. */
export interface CopySigner {
  /**
   * The copy, sealed under `seal` (the post's verification; needs the `arc` key) and signed.
   * Throws a SelfCheckError (code ESIGNATURE, temporary) when the result does not verify.
   */
  sign(raw: Buffer, seal?: SealPlan): Promise<Buffer>;
}

/** A signer on the calling thread. */
export function createCopySigner(opts: CopySignerOptions): CopySigner {
  const dkim = createDkimSigner(opts.dkim, { now: opts.now });
  const sealer = opts.arc ? createArcSealer(opts.arc, { now: opts.now }) : undefined;
  const checks =
    opts.selfCheck === false
      ? undefined
      : {
          sealed: createSelfCheck({ dkim: opts.dkim, arc: opts.arc }),
          // A post whose incoming chain already failed is not sealed again (RFC 8617 5.1).
          unsealed: createSelfCheck({ dkim: opts.dkim }),
        };
  return {
    async sign(raw, seal) {
      if (seal && !sealer) throw new Error('a seal plan was given, but no ARC key');
      const outcome = seal && sealer ? await sealer.seal(raw, seal) : undefined;
      const signed = dkim.sign(outcome?.message ?? raw);
      (outcome?.instance ? checks?.sealed : checks?.unsealed)?.assert(signed);
      return signed;
    },
  };
}
