/**
 * `max-recipients` — holds a post addressed to more than `max_recipients` addresses in To
 * and Cc: the mark of spam and of reply-all storms. Approved posts pass.
 */

import type { ListSettings } from '../list/settings.ts';
import { addressesIn } from '../mail/address.ts';
import type { ListMail, Processor } from '../types.ts';
import { type RuleAction, ruleActionSchema, ruleSignal } from './rules.ts';

export interface MaxRecipientsOptions {
  /** What happens to a post over the limit. @default 'hold' */
  action?: RuleAction;
}

/** The distinct addresses in To and Cc, by normal form. Pure. */
export function visibleRecipients(mail: ListMail): string[] {
  return addressesIn([...mail.header.getAll('To'), ...mail.header.getAll('Cc')]);
}

/** The options of `type: max-recipients` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = ruleActionSchema;

export default function createMaxRecipients(
  list: ListSettings,
  options: MaxRecipientsOptions = {},
): Processor {
  return {
    name: 'max-recipients',
    async process(mail) {
      const limit = list.max_recipients ?? 0;
      if (mail.ml_approved || limit <= 0) return mail;
      const count = visibleRecipients(mail).length;
      if (count > limit)
        throw ruleSignal(
          options.action,
          `the message has ${count} recipients in To/Cc, over the list's limit of ${limit}`,
        );
      return mail;
    },
  };
}
