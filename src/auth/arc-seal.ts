/**
 * ARC-seals a post after the list's modifications (RFC 8617 section 5.1): an
 * ARC-Authentication-Results with the list's own verification of the incoming post, an
 * ARC-Message-Signature over the post as it now is, and an ARC-Seal over the chain with cv=
 * saying whether the incoming chain validated. Receivers that trust the list's seal can then
 * accept a post whose author's DKIM signature the list's changes broke.
 *
 * Built like the DKIM signer, from header-fields.ts (mailauth's rules) rather than mailauth's
 * its `createSeal`: that one decodes the PEM key twice per seal (its signer, then the seal),
 * and OpenSSL 3 takes ~1 ms to decode an RSA key here, as much as the signature itself; a
 * list with personal copies seals every copy. The rules of section 5.1 are kept: the set
 * follows the highest instance, never past 50; a chain whose newest seal says cv=fail gets
 * no new set; cv=none only for i=1; a cv=pass seal covers every set, a cv=fail seal its own
 * (as mailauth and dkimpy do). mailauth's verifier and dkimpy check the result in the tests.
 *
 * A per-member copy (personal footer) is sealed per copy, after its footer: the
 * ARC-Message-Signature covers the body.
 */
import { type ArcSetLines, arcSets, chainLines, sealedData, tagsOf } from './arc-sets.ts';
import { bodyHash } from './body-hash.ts';
import { OVERSIGNED, SIGNED_IF_PRESENT } from './dkim-sign.ts';
import { parseHeaderFields } from './header-fields.ts';
import type { SigningKey } from './keys.ts';
import { cutMessage, prependFields } from './message.ts';
import type { ChainValidation, SealPlan } from './seal-plan.ts';
import { messageSignature, selectSignedFields, withSignature } from './signature-field.ts';

export { type ChainValidation, type SealPlan, sealPlanFor } from './seal-plan.ts';

/** The sealed post, or why no set was added. */
export interface SealOutcome {
  message: Buffer;
  /** The instance of the new set; undefined when none was added. */
  instance?: number;
  /** Why no set was added (RFC 8617 section 5.1 step 2: the chain already failed). */
  skipped?: string;
}

/** Seals posts with one key. */
export interface ArcSealer {
  seal(raw: Buffer, plan: SealPlan): Promise<SealOutcome>;
}

/** RFC 8617 section 4.2.1: instances run from 1 to 50. */
const MAX_INSTANCE = 50;

/**
 * The fields the ARC-Message-Signature covers: those of the DKIM signature plus the
 * author's DKIM-Signature, so a receiver sees which signature the list saw. No ARC field and
 * no Authentication-Results (section 4.1.2); nothing oversigned (the seal records a state).
 */
const AMS_FIELDS = ['DKIM-Signature', ...OVERSIGNED, ...SIGNED_IF_PRESENT];

/** A sealer for `key` (rsa-sha256); `now` gives the t= of each seal. */
export function createArcSealer(key: SigningKey, opts: { now?: () => Date } = {}): ArcSealer {
  if (key.algorithm !== 'rsa-sha256')
    throw new Error(
      `${key.keyFile}: ARC seals with rsa-sha256 keys only (RFC 8617 names no other algorithm, and verifiers such as dkimpy reject an ed25519 ARC set)`,
    );
  const now = opts.now ?? (() => new Date());
  return {
    async seal(raw, plan) {
      const { header, body, eol } = cutMessage(raw);
      const rows = parseHeaderFields(header);
      const sets = arcSets(rows);
      const highest = Math.max(0, ...sets.keys());
      const newestSeal = sets.get(highest)?.['arc-seal'];
      const lastCv = newestSeal ? tagsOf(newestSeal).cv?.toLowerCase() : undefined;
      if (highest > 0 && lastCv === 'fail')
        return { message: raw, skipped: `the newest ARC-Seal (i=${highest}) says cv=fail` };
      if (highest >= MAX_INSTANCE)
        return { message: raw, skipped: `the ARC chain already has ${highest} sets` };
      const i = highest + 1;
      const chain = highest > 0 ? chainLines(sets, highest) : [];
      // A post without ARC fields (none came, or a unit removed them) starts a chain; a
      // chain with a set missing a field cannot pass whatever the verification said.
      const cv: ChainValidation = i === 1 ? 'none' : plan.cv === 'pass' && chain ? 'pass' : 'fail';
      const t = Math.floor(now().getTime() / 1000);
      // The payload as the UTF-8 bytes it is sent as, read as latin1 like every field here.
      const aar = `ARC-Authentication-Results: i=${i}; ${Buffer.from(plan.authResults, 'utf8').toString('latin1')}`;
      const covered = selectSignedFields(rows, AMS_FIELDS);
      const ams = messageSignature(
        'ARC-Message-Signature',
        `i=${i}`,
        key,
        covered,
        bodyHash(body),
        t,
      );
      const unsignedSeal =
        `ARC-Seal: i=${i}; a=rsa-sha256; t=${t}; cv=${cv};\r\n` +
        ` d=${key.domain}; s=${key.selector};\r\n b=`;
      const own: ArcSetLines = { aar, ams, seal: unsignedSeal };
      const signedSets = cv === 'pass' && chain ? [...chain, own] : [own];
      const seal = withSignature(unsignedSeal, sealedData(signedSets), key);
      return { message: prependFields(raw, [seal, ams, aar], eol), instance: i };
    },
  };
}
