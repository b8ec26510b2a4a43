/**
 * `type: notify-poster` — tells a poster their post was rejected (why, with the post
 * attached) or is held for a moderator. Never answers a robot (RFC 3834: auto-replies,
 * bounces, other lists' traffic), and never more than `per_day` notices to one address,
 * so a forged sender cannot turn the list into a backscatter cannon.
 */

import { z } from 'zod';
import { isSignal } from '../errors.ts';
import { createListMail } from '../mail/list-mail.ts';
import { optionalBoolean, optionalPositiveInt } from '../mail/shared-options.ts';
import {
  type NoticeReactorOptions,
  noticeOutlet,
  posterOf,
  sendListNotice,
} from '../notices/list-notices.ts';
import type { Reactor } from '../types.ts';

export interface NotifyPosterOptions extends NoticeReactorOptions {
  /** Tell posters their post awaits a moderator. @default true */
  held?: boolean;
  /** Tell posters why their post was rejected. @default true */
  rejected?: boolean;
}

/** The options of `type: notify-poster` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = z.strictObject({
  held: optionalBoolean,
  rejected: optionalBoolean,
  per_day: optionalPositiveInt,
  templates: z.record(z.string(), z.string()).optional(),
});

export default function createNotifyPoster(options: NotifyPosterOptions): Reactor {
  const outlet = noticeOutlet(options);
  return {
    name: 'notify-poster',
    async react(failure) {
      const { error, mail } = failure;
      if (failure.stage !== 'processor' || !isSignal(error) || !mail) return;
      const list = options.lists[mail.ml_list_name ?? ''];
      if (!list) return;
      const kind =
        error.kind === 'reject' && options.rejected !== false
          ? 'rejected'
          : error.kind === 'hold' && options.held !== false
            ? 'held'
            : undefined;
      if (!kind) return;
      // The post as it arrived, not as half-rewritten by the units before the signal.
      const post = createListMail(mail.raw, mail.origin);
      await sendListNotice(
        outlet,
        list,
        {
          kind,
          to: posterOf(post) ?? '',
          about: post,
          answering: post,
          vars: { reason: error.reason },
          templates: options.templates,
        },
        options.now?.(),
      );
    },
  };
}
