/**
 * `type: notify-moderators` — when a post is held, mails each moderator (or the owner
 * address when none are set) a notice with the post attached and a `moderate` token: a
 * reply to the notice (subject "confirm TOKEN", Reply-To LIST-request@) approves it, and
 * "reject|discard TOKEN" to LIST-request@ refuses it. `play()` has already stored the post
 * durably under the id the notice names, before this runs. Robot mail the `automated` unit
 * sends on to the owners goes to the same people, attached to an FYI notice.
 */

import { z } from 'zod';
import { Discard, isSignal } from '../errors.ts';
import { ownerAddress, requestAddress } from '../list/addresses.ts';
import type { ListSettings } from '../list/settings.ts';
import { createListMail } from '../mail/list-mail.ts';
import { optionalPositiveInt } from '../mail/shared-options.ts';
import { issueModerationToken } from '../moderation/tokens.ts';
import {
  type NoticeReactorOptions,
  noticeOutlet,
  sendListNotice,
} from '../notices/list-notices.ts';
import type { NoticeOutlet } from '../notices/send.ts';
import { safeName } from '../state/safe-name.ts';
import type { TokenStore } from '../state/tokens.ts';
import type { ListMail, Reactor } from '../types.ts';

export interface NotifyModeratorsOptions extends NoticeReactorOptions {
  /** The token store of a list (the one its request handler reads). */
  tokens: (list: string) => TokenStore;
  /** Notices one moderator may get per day (held posts beyond it wait in `malist held list`). @default 200 */
  per_day?: number;
}

const DAY = 86_400_000;

/** The options of `type: notify-moderators` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = z.strictObject({
  per_day: optionalPositiveInt,
  templates: z.record(z.string(), z.string()).optional(),
});

/** The owners of a list: its moderators, or its owner address when it names none. */
function ownersOf(list: ListSettings): string[] {
  return list.moderators?.length ? list.moderators : [ownerAddress(list)];
}

/**
 * Robot mail the `automated` unit sent on to the owners (a `Discard` with `forward:
 * 'owner'`): attached to a notice for each owner, within the owners' daily budget.
 */
/** One notice about `mail` (attached as fetched) to each owner/moderator of `list`. */
async function noticeOwners(
  outlet: NoticeOutlet,
  list: ListSettings,
  mail: ListMail,
  notice: Omit<Parameters<typeof sendListNotice>[2], 'to' | 'about'>,
  now: number | undefined,
): Promise<void> {
  const post = createListMail(mail.raw, mail.origin);
  for (const owner of ownersOf(list))
    await sendListNotice(outlet, list, { ...notice, to: owner, about: post }, now);
}

export default function createNotifyModerators(options: NotifyModeratorsOptions): Reactor {
  const outlet = noticeOutlet(options, options.per_day ?? 200);
  return {
    name: 'notify-moderators',
    async react(failure) {
      const { error, mail } = failure;
      if (failure.stage !== 'processor' || !isSignal(error) || !mail) return;
      const list = options.lists[mail.ml_list_name ?? ''];
      if (!list) return;
      // Robot mail the `automated` unit sent on to the owners, within their daily budget.
      if (error instanceof Discard && error.forward === 'owner')
        return noticeOwners(
          outlet,
          list,
          mail,
          { kind: 'owner_forward', vars: { reason: error.reason }, templates: options.templates },
          options.now?.(),
        );
      if (error.kind !== 'hold') return;
      const now = options.now?.() ?? Date.now();
      const ttl = (list.held_expiry_days ?? 14) * DAY;
      const heldId = safeName(mail.key);
      const token = await issueModerationToken(
        options.tokens(list.name),
        list.name,
        heldId,
        ttl,
        now,
      );
      await noticeOwners(
        outlet,
        list,
        mail,
        {
          kind: 'moderator',
          replyTo: requestAddress(list),
          vars: {
            token,
            reason: error.reason,
            held_id: heldId,
            expires: new Date(now + ttl).toISOString().slice(0, 16).replace('T', ' '),
          },
          templates: options.templates,
        },
        now,
      );
    },
  };
}
