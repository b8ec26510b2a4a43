/**
 * `emergency` — Mailman's emergency moderation: while a list is in an emergency (a flame war,
 * a compromised member account, a spam run through a member's address), every post is held
 * for a moderator, members' too; pre-approved posts (`Approved:` with the moderator password)
 * pass. Off until the owner turns it on, without restating the pipeline:
 * `unit_options: { emergency: { on: true } }`.
 */

import { z } from 'zod';
import type { ListSettings } from '../list/settings.ts';
import { lazySchema } from '../mail/deferred-option.ts';
import type { Processor } from '../types.ts';
import { type RuleAction, ruleSignal } from './rules.ts';

export interface EmergencyOptions {
  /** Hold every post that is not pre-approved. @default false */
  on?: boolean;
  /** What happens to a post during the emergency. @default 'hold' */
  action?: RuleAction;
  /** The reason moderators (and, on reject, the poster) read. */
  reason?: string;
}

/** The options of `type: emergency` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = lazySchema(() =>
  z.strictObject({
    on: z.boolean({ error: 'expected true or false' }).optional(),
    action: z.enum(['hold', 'reject', 'discard']).optional(),
    reason: z.string().min(1, 'expected a non-empty reason').optional(),
  }),
);

export default function createEmergency(
  list: ListSettings,
  options: EmergencyOptions = {},
): Processor {
  const reason = options.reason ?? `the list ${list.address} is under emergency moderation`;
  return {
    name: 'emergency',
    async process(mail) {
      if (!options.on || mail.ml_approved) return mail;
      throw ruleSignal(options.action, reason);
    },
  };
}
