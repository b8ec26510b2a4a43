/**
 * `envelope` — sets the ml_* fields: the list's identity (`ml_list`), its bounce address
 * as envelope sender (`ml_sender`), and the members as envelope recipients (`ml_send_to`).
 * With a member store, recipients are read at each post and members with `nomail` or
 * `digest` (they get digests) are left out, as is a `notmetoo` member's own post.
 */

import { z } from 'zod';
import { bounceAddress } from '../list/addresses.ts';
import type { ListSettings } from '../list/settings.ts';
import { formatMailbox, normalizeAddress, parseAddressList } from '../mail/address.ts';
import type { Member } from '../members/store.ts';
import type { ListMail, Processor } from '../types.ts';

export type EnvelopeOptions = Record<string, never>;

/** The recipients of one post (pure): no nomail, no digest-only, no notmetoo poster. */
export function postRecipients(members: readonly Member[], mail: ListMail): string[] {
  const posters = new Set(
    parseAddressList(mail.header.get('From')).map((m) => normalizeAddress(m.address)),
  );
  const out = new Set<string>();
  for (const m of members) {
    if (m.nomail || m.digest || normalizeAddress(m.address) === '') continue;
    if (m.notmetoo && posters.has(normalizeAddress(m.address))) continue;
    out.add(m.address.trim());
  }
  return [...out];
}

/** The options of `type: envelope` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = z.strictObject({});

export default function createEnvelope(
  list: ListSettings,
  _options: EnvelopeOptions = {},
): Processor {
  // With a store the static members are never read: no copy of them is kept.
  const sendTo = list.member_store
    ? []
    : [...new Set(list.members.map((m) => m.trim()).filter((m) => normalizeAddress(m) !== ''))];
  const identity = formatMailbox(list.display_name ?? list.name, list.address);
  return {
    name: 'envelope',
    async process(mail) {
      mail.ml_list = identity;
      mail.ml_list_name = list.name;
      mail.ml_sender = bounceAddress(list);
      mail.ml_send_to = list.member_store
        ? postRecipients(await list.member_store.list(), mail)
        : [...sendTo];
      return mail;
    },
  };
}
