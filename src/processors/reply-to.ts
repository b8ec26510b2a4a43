/**
 * `reply-to` — where replies go: to the poster (`poster`, the default: the poster's own
 * Reply-To or From stays in charge), to the list (`list`), or to a fixed address
 * (`explicit`). `strip` removes the poster's Reply-To first (Mailman's
 * first_strip_reply_to); otherwise the list's address is added next to the poster's.
 */

import { z } from 'zod';
import type { ListSettings } from '../list/settings.ts';
import { addressesIn, formatMailbox, parseAddressList } from '../mail/address.ts';
import { addressOption } from '../mail/address-option.ts';
import { lazySchema } from '../mail/deferred-option.ts';
import { optionalBoolean } from '../mail/shared-options.ts';
import type { ListMail, Processor } from '../types.ts';

export interface ReplyToOptions {
  /** Where replies go. @default 'poster' */
  policy?: 'poster' | 'list' | 'explicit';
  /** The address for `policy: explicit`. @example "discuss@example.org" */
  address?: string;
  /** Remove the poster's own Reply-To before applying the policy. @default false */
  strip?: boolean;
}

/** Applies the policy to `mail`'s Reply-To. Pure (edits the header only). */
export function applyReplyTo(list: ListSettings, mail: ListMail, options: ReplyToOptions): void {
  const policy = options.policy ?? 'poster';
  if (options.strip) mail.header.remove('Reply-To');
  if (policy === 'poster') return;
  const target =
    policy === 'list'
      ? formatMailbox(list.display_name ?? list.name, list.address)
      : (options.address ?? '');
  const existing = mail.header.get('Reply-To');
  const targetAddress = parseAddressList(target)[0]?.address ?? '';
  if (!existing) {
    mail.header.set('Reply-To', target);
    return;
  }
  // Keep the poster's Reply-To (they asked for it) and add the list, unless it is there.
  if (addressesIn([existing]).includes(addressesIn([targetAddress])[0] ?? '')) return;
  mail.header.set('Reply-To', `${existing}, ${target}`);
}

/** The options of `type: reply-to` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = lazySchema(() =>
  z.strictObject({
    policy: z.enum(['poster', 'list', 'explicit']).optional(),
    address: addressOption.optional(),
    strip: optionalBoolean,
  }),
);

export default function createReplyTo(list: ListSettings, options: ReplyToOptions = {}): Processor {
  if (options.policy === 'explicit' && !parseAddressList(options.address ?? '')[0])
    throw new Error(`reply-to: list ${list.name}: policy 'explicit' needs an \`address\``);
  return {
    name: 'reply-to',
    async process(mail) {
      applyReplyTo(list, mail, options);
      return mail;
    },
  };
}
