/**
 * What the list's ARC seal will say about a post (arc-seal.ts), made from its verification
 * when the post is spooled: apart from the sealer, so the queue, which records a plan for
 * every verified post, loads none of the signing modules unless a list seals.
 */
import { authResultsValue } from './results-header.ts';
import type { AuthVerdict } from './verify.ts';

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

/** The seal plan of a post from its verification: its results, and its chain's state. */
export function sealPlanFor(verdict: AuthVerdict): SealPlan {
  return { authResults: authResultsValue(verdict), cv: verdict.arc.result };
}
