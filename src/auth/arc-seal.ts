/**
 * ARC-seals a post after the list's modifications (RFC 8617 section 5.1): an
 * ARC-Authentication-Results with the list's own verification of the incoming post, an
 * ARC-Message-Signature over the post as it now is, and an ARC-Seal over the chain with cv=
 * saying whether the incoming chain validated. Receivers that trust the list's seal can
 * then accept a post whose author's DKIM signature the list's changes broke.
 *
 * The set is made by mailauth's `createSeal` (instance numbering, the cv rules, the chain a
 * cv=pass seal covers) from a header parse and body hash done here, so the body is hashed
 * once and the message is never streamed. A per-member copy (personal footer) must be sealed
 * per copy, after its footer: the ARC-Message-Signature covers the body.
 */

import type { ARCChainEntry } from 'mailauth';
import { OVERSIGNED, SIGNED_IF_PRESENT } from './dkim-sign.ts';
import type { SigningKey } from './keys.ts';
import { createSeal, getARChain, parseHeaders, relaxedBodyHash } from './mailauth.ts';
import { cutMessage, prependFields } from './message.ts';

/** The cv= of a new ARC-Seal: the result of validating the incoming chain. */
export type ChainValidation = 'none' | 'pass' | 'fail';

/** What a seal says about the post, from the verification of the incoming copy. */
export interface SealPlan {
  /**
   * The Authentication-Results value of the list's verification (`authserv-id; dkim=…`),
   * as `authResultsValue()` makes it: it becomes the ARC-Authentication-Results payload.
   */
  authResults: string;
  /** The incoming chain's validation (`verdict.arc.result`). */
  cv: ChainValidation;
}

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

/**
 * The fields the ARC-Message-Signature covers: the DKIM list plus the author's
 * DKIM-Signature, so a receiver sees which signature the list saw.
 */
const AMS_FIELDS = ['DKIM-Signature', ...OVERSIGNED, ...SIGNED_IF_PRESENT];

/** A sealer for `key`; `now` gives the t= of each seal. */
export function createArcSealer(key: SigningKey, opts: { now?: () => Date } = {}): ArcSealer {
  if (key.algorithm !== 'rsa-sha256')
    throw new Error(
      `${key.keyFile}: ARC seals with rsa-sha256 keys only (RFC 8617 names no other algorithm, and verifiers such as dkimpy reject an ed25519 ARC set)`,
    );
  const now = opts.now ?? (() => new Date());
  // mailauth's sealer takes a PEM; exported once here, never written anywhere.
  const pem = key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return {
    async seal(raw, plan) {
      const { header, body, eol } = cutMessage(raw);
      const headers = parseHeaders(header);
      const hasArc = headers.parsed.some((r) => r.key?.startsWith('arc-'));
      const result = await createSeal(false, {
        headers,
        arc: { chain: chainOf(headers) || [] },
        seal: {
          signingDomain: key.domain,
          selector: key.selector,
          privateKey: pem,
          algorithm: key.algorithm,
          // A post whose ARC fields a unit removed starts a new chain, whatever came in.
          cv: hasArc ? plan.cv : 'none',
          // mailauth canonicalises this as a latin1 string: give it the UTF-8 bytes so the
          // signed bytes are the bytes sent.
          authResults: Buffer.from(plan.authResults, 'utf8').toString('latin1'),
          bodyHash: relaxedBodyHash(body),
          headerList: AMS_FIELDS,
          signTime: now(),
        },
      });
      const refused = result.errors.find((e) => e.err?.code === 'EARCCHAINFAILED');
      if (refused) return { message: raw, skipped: refused.err.message };
      if (result.errors.length > 0 || result.headers.length === 0) {
        const why = result.errors.map((e) => e.err?.message).join('; ') || 'no ARC set made';
        throw new Error(`ARC sealing with ${key.selector}._domainkey.${key.domain} failed: ${why}`);
      }
      const instance = Number(/^ARC-Seal:\s*i=(\d+)/i.exec(result.headers[0] ?? '')?.[1]);
      return { message: prependFields(raw, result.headers, eol), instance };
    },
  };
}

/** The message's valid ARC chain, or false (none, or one that does not parse). */
function chainOf(headers: ReturnType<typeof parseHeaders>): ARCChainEntry[] | false {
  try {
    return getARChain(headers);
  } catch {
    return false;
  }
}
