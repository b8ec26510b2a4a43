/**
 * `max-size` — holds (or rejects) a post larger than the list's `max_message_size` bytes,
 * before anyone fans a huge attachment out to every member. Approved posts pass.
 */

import type { ListSettings } from '../list/settings.ts';
import { mailSize } from '../mail/list-mail.ts';
import type { Processor } from '../types.ts';
import { type RuleAction, ruleActionSchema, ruleSignal } from './rules.ts';

export interface MaxSizeOptions {
  /** What happens to a post over the limit. @default 'hold' */
  action?: RuleAction;
}

/** The reason a post of `size` bytes breaks the limit, or undefined. Pure. */
export function sizeReason(size: number, limit: number | undefined): string | undefined {
  if (!limit || limit <= 0 || size <= limit) return undefined;
  return `the message is ${size} bytes, over the list's limit of ${limit} bytes`;
}

/** The options of `type: max-size` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = ruleActionSchema;

export default function createMaxSize(list: ListSettings, options: MaxSizeOptions = {}): Processor {
  return {
    name: 'max-size',
    async process(mail) {
      if (mail.ml_approved) return mail;
      const reason = sizeReason(mailSize(mail), list.max_message_size);
      if (reason) throw ruleSignal(options.action, reason);
      return mail;
    },
  };
}
