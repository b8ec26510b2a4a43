/**
 * The self-check before hand-off: a signed (and sealed) copy is verified against the public
 * keys derived from the configured private keys, with no DNS, before it leaves. A copy that
 * fails is a loud failure of that delivery (the queue defers it and the operator is told),
 * never a silently broken signature at the receivers.
 *
 * The checks are signature-check.ts: a verifier with its own body canonicaliser, field
 * picking and key operation; what it shares with the signers (the header parser and
 * canonicaliser, the tag-list reader) is held to mailauth's bytes by property tests (see
 * there for why that is safe).
 */
import { ErrorCode, StageError } from '../errors.ts';
import { prefixBodyMemo } from './body-hash.ts';
import type { SigningKey } from './keys.ts';
import { cutMessage } from './message.ts';
import { type CheckKey, checkedBodyCanon, signatureProblems } from './signature-check.ts';
import { relaxedLineMemo } from './signature-field.ts';

/** The keys a copy was signed with. */
export interface SelfCheckKeys {
  /** Every DKIM key that signed (one signature each). */
  dkim: readonly SigningKey[];
  /** The key of the ARC seal, when the copy was sealed. */
  arc?: SigningKey;
}

/** A copy that failed its self-check: a temporary failure of that delivery. */
export class SelfCheckError extends StageError {
  constructor(
    readonly problems: readonly string[],
    messageId: string | undefined,
  ) {
    super(`the signed copy failed its self-check, not sent: ${problems.join('; ')}`, {
      code: ErrorCode.SIGNATURE,
      unit: 'dkim-self-check',
      messageId,
      temporary: true,
    });
  }
}

/** Checks signed copies against fixed keys. */
export interface SelfCheck {
  /** What is wrong with the copy; empty when every signature and the seal verify. */
  problems(raw: Buffer): string[];
  /** Throws a SelfCheckError when `problems` finds any. */
  assert(raw: Buffer): void;
}

/** A self-check for copies signed with `keys` (the public halves are all it keeps). */
export function createSelfCheck(keys: SelfCheckKeys): SelfCheck {
  const publicOnly = (key: SigningKey): CheckKey => ({
    domain: key.domain,
    selector: key.selector,
    algorithm: key.algorithm,
    publicKey: key.publicKey,
  });
  const checkKeys = { dkim: keys.dkim.map(publicOnly), arc: keys.arc && publicOnly(keys.arc) };
  // Copies that differ only in their header (a one-click URL) share one body hash; copies
  // that differ in a personal footer hash the post's shared lines once (after comparing
  // them byte for byte), their footer each.
  const hashBody = prefixBodyMemo(checkedBodyCanon);
  // The copies share every covered field but their one-click ones: each canonicalised once
  // a post (0.05–0.1 ms a copy less; the memo is keyed by the field's bytes).
  const canonicalise = relaxedLineMemo();
  const problems = (raw: Buffer) => signatureProblems(raw, checkKeys, hashBody, canonicalise);
  return {
    problems,
    assert(raw) {
      const found = problems(raw);
      if (found.length > 0) throw new SelfCheckError(found, messageIdOf(raw));
    },
  };
}

/** The Message-ID of a copy (for the error), without its angle brackets. */
export function messageIdOf(raw: Buffer): string | undefined {
  const header = cutMessage(raw).header.toString('latin1');
  return /^message-id:\s*<?([^>\r\n]*)>?/im.exec(header)?.[1]?.slice(0, 500);
}
