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
import { lazySchema } from '../mail/deferred-option.ts';
import { type Member, type MemberStore, memberPages } from '../members/store.ts';
import type { ListMail, Processor } from '../types.ts';

export type EnvelopeOptions = Record<string, never>;

/**
 * Who of the members gets this post (pure): not nomail, not digest-only, not a notmetoo
 * poster. The address to send to, or undefined.
 */
function postRecipientOf(mail: ListMail): (member: Member) => string | undefined {
  const posters = new Set(
    parseAddressList(mail.header.get('From')).map((m) => normalizeAddress(m.address)),
  );
  return (m) => {
    if (m.nomail || m.digest) return undefined;
    const normal = normalizeAddress(m.address);
    if (normal === '' || (m.notmetoo && posters.has(normal))) return undefined;
    return m.address.trim();
  };
}

/** The recipients of one post (pure): no nomail, no digest-only, no notmetoo poster. */
export function postRecipients(members: Iterable<Member>, mail: ListMail): string[] {
  const out = new Set<string>();
  eachRecipient(members, postRecipientOf(mail), (to) => out.add(to));
  return [...out];
}

/** Calls `take` with each address `recipient` picks of `members`. */
function eachRecipient(
  members: Iterable<Member>,
  recipient: (member: Member) => string | undefined,
  take: (to: string) => void,
): void {
  for (const m of members) {
    const to = recipient(m);
    if (to !== undefined) take(to);
  }
}

/**
 * The recipients of one post from a member store, read a page at a time: the same choice
 * as `postRecipients`, without an array of every member (only their addresses are kept).
 */
export async function storeRecipients(store: MemberStore, mail: ListMail): Promise<string[]> {
  const recipient = postRecipientOf(mail);
  const out = new Set<string>();
  for await (const page of memberPages(store)) eachRecipient(page, recipient, (to) => out.add(to));
  return [...out];
}

/**
 * The same recipients a page at a time, nothing kept: for `Queue.enqueue`'s `more`, which
 * writes each page as it comes (and makes an address in two pages one recipient).
 */
export async function* storeRecipientPages(
  store: MemberStore,
  mail: ListMail,
  size?: number,
): AsyncIterable<string[]> {
  const recipient = postRecipientOf(mail);
  for await (const page of memberPages(store, size)) {
    const out: string[] = [];
    eachRecipient(page, recipient, (to) => out.push(to));
    if (out.length > 0) yield out;
  }
}

/** The options of `type: envelope` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = lazySchema(() => z.strictObject({}));

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
        ? await storeRecipients(list.member_store, mail)
        : [...sendTo];
      return mail;
    },
  };
}
