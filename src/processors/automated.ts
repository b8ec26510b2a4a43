/**
 * `automated` — no robot reaches the members. Mail a machine wrote (delivery and
 * disposition reports, bounces, RFC 3834 auto-replies and their non-standard markers,
 * challenge-response robots, no-reply senders, bulk mail) is never distributed: it is sent
 * on to the list's owners (`action: owner`, the default: a robot at a posting address is
 * usually a member's mailbox the owner should know about), held, or dropped, always with a
 * log line naming the reason. The detector is the one notices and bounces use
 * (`mail/automated.ts`).
 *
 * A post another list relayed (its List-Id, `Precedence: list`) is a decision of its own
 * (`relayed`): held by default, accepted for an umbrella list (`relayed: accept`, or by
 * List-Id in `accept_list_ids`). This list's own List-Id is the loop guard's business.
 */
import { z } from 'zod';
import { Discard, Hold } from '../errors.ts';
import type { ListSettings } from '../list/settings.ts';
import { type Automated, classifyAutomated } from '../mail/automated.ts';
import { lazySchema } from '../mail/deferred-option.ts';
import type { ListMail, Processor } from '../types.ts';

export type AutomatedAction = 'owner' | 'discard' | 'hold';

export interface AutomatedOptions {
  /** What happens to robot mail sent to the posting address. @default 'owner' */
  action?: AutomatedAction;
  /** What happens to a post relayed by another list. @default 'hold' */
  relayed?: AutomatedAction | 'accept';
  /** List-Id labels (`news.example.org`) whose relayed posts are accepted. @default [] */
  accept_list_ids?: string[];
}

/** What to do with `mail` on `list`: undefined to let it pass. Pure. */
export function automatedDecision(
  mail: ListMail,
  options: AutomatedOptions = {},
): { action: AutomatedAction; found: Automated } | undefined {
  const found = classifyAutomated(mail);
  if (!found) return undefined;
  if (found.kind !== 'list') return { action: options.action ?? 'owner', found };
  const accepted = (options.accept_list_ids ?? []).map((l) => l.toLowerCase());
  if (found.listId && accepted.includes(found.listId)) return undefined;
  const relayed = options.relayed ?? 'hold';
  return relayed === 'accept' ? undefined : { action: relayed, found };
}

/** The options of `type: automated` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = lazySchema(() =>
  z.strictObject({
    action: z.enum(['owner', 'discard', 'hold']).optional(),
    relayed: z.enum(['accept', 'owner', 'discard', 'hold']).optional(),
    accept_list_ids: z.array(z.string().min(1)).optional(),
  }),
);

export default function createAutomated(
  list: ListSettings,
  options: AutomatedOptions = {},
): Processor {
  return {
    name: 'automated',
    async process(mail) {
      if (mail.ml_approved) return mail;
      const decision = automatedDecision(mail, options);
      if (!decision) return mail;
      const what = decision.found.kind === 'list' ? 'relayed list mail' : 'automated mail';
      const reason = `${what}, not sent to ${list.address}: ${decision.found.reason}`;
      if (decision.action === 'hold') throw new Hold(reason);
      if (decision.action === 'discard') throw new Discard(reason);
      throw new Discard(`${reason}; forwarded to the list owners`, '', 'owner');
    },
  };
}
