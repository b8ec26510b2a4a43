/** What the rule units (size, recipients, destination, content, posting) share. */
import { z } from 'zod';
import { Discard, Hold, Reject, type Signal } from '../errors.ts';
import { normalizeAddress } from '../mail/address.ts';
import { lazySchema } from '../mail/deferred-option.ts';

/** The set of normalised member addresses, for membership checks by address (never substring). */
export function memberSet(addresses: readonly string[]): Set<string> {
  return new Set(addresses.map(normalizeAddress).filter((a) => a !== ''));
}

/** What a rule does with a post that breaks it. */
export type RuleAction = 'hold' | 'reject' | 'discard';

/** The signal for a rule's action. */
export function ruleSignal(action: RuleAction | undefined, reason: string): Signal {
  if (action === 'reject') return new Reject(reason);
  if (action === 'discard') return new Discard(reason);
  return new Hold(reason);
}

/** The options of a rule unit in YAML: what to do with a post that breaks it. */
export const ruleActionSchema = lazySchema(() =>
  z.strictObject({
    action: z.enum(['hold', 'reject', 'discard']).optional(),
  }),
);
