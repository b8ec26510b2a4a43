/**
 * `explicit-destination` — with `require_explicit_destination`, holds a post that does not
 * name the list (or one of `acceptable_aliases`) in To or Cc: mail that reached the list
 * by Bcc or through an alias is often spam. Approved posts pass.
 */

import type { ListSettings } from '../list/settings.ts';
import { normalizeAddress } from '../mail/address.ts';
import type { ListMail, Processor } from '../types.ts';
import { visibleRecipients } from './max-recipients.ts';
import { type RuleAction, ruleActionSchema, ruleSignal } from './rules.ts';

export interface ExplicitDestinationOptions {
  /** What happens to a post that does not name the list. @default 'hold' */
  action?: RuleAction;
}

/** True when To or Cc names the list or an alias, by normal address (never a substring). Pure. */
export function namesList(list: ListSettings, mail: ListMail): boolean {
  const wanted = new Set(
    [list.address, ...(list.acceptable_aliases ?? [])].map(normalizeAddress).filter(Boolean),
  );
  return visibleRecipients(mail).some((a) => wanted.has(a));
}

/** The options of `type: explicit-destination` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = ruleActionSchema;

export default function createExplicitDestination(
  list: ListSettings,
  options: ExplicitDestinationOptions = {},
): Processor {
  return {
    name: 'explicit-destination',
    async process(mail) {
      if (mail.ml_approved || !list.require_explicit_destination) return mail;
      if (!namesList(list, mail))
        throw ruleSignal(
          options.action,
          `the message does not name ${list.address} in To or Cc (sent by Bcc or through an alias?)`,
        );
      return mail;
    },
  };
}
