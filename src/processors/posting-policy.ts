/**
 * `posting-policy` — who may post: `open` (anyone), `members` (members and `posters`;
 * others get `non_member_action`), `moderated` (everything held), `announce` (only
 * `posters`). The poster is every From mailbox and the Sender, compared by normal address
 * (case-insensitive, IDN domains in punycode), never by substring. A post a moderator
 * approved (`ml_approved`: released from hold, or a valid `Approved:` field) passes.
 */
import { Discard, Hold, Reject } from '../errors.ts';
import { parseAddressList } from '../mail/address.ts';
import type { ListMail, Processor } from '../types.ts';
import { type ListSettings, memberSet } from './list.ts';

export type PostingPolicyOptions = Record<string, never>;

/** The poster's addresses: all From mailboxes, then Sender. */
export function posterAddresses(mail: ListMail): string[] {
  return [
    ...parseAddressList(mail.header.get('From')),
    ...parseAddressList(mail.header.get('Sender')),
  ].map((m) => m.address);
}

export function checkPoster(list: ListSettings, mail: ListMail): void {
  const policy = list.posting ?? 'members';
  if (policy === 'open' || mail.ml_approved) return;
  const poster = posterAddresses(mail);
  const shown = poster[0] ?? '(no From address)';
  if (policy === 'moderated')
    throw new Hold(`${list.name} is moderated: every post waits for a moderator`);
  const posters = memberSet(list.posters ?? []);
  const allowed =
    policy === 'announce' ? posters : new Set([...memberSet(list.members), ...posters]);
  const normal = memberSet(poster);
  if ([...normal].some((a) => allowed.has(a))) return;
  if (policy === 'announce')
    throw new Reject(`${shown} may not post to the announce list ${list.address}`);
  const reason = `${shown} is not a member of ${list.address}`;
  switch (list.non_member_action ?? 'hold') {
    case 'accept':
      return;
    case 'reject':
      throw new Reject(reason);
    case 'discard':
      throw new Discard(reason);
    default:
      throw new Hold(reason);
  }
}

export default function createPostingPolicy(
  list: ListSettings,
  _options: PostingPolicyOptions = {},
): Processor {
  return {
    name: 'posting-policy',
    async process(mail) {
      checkPoster(list, mail);
      return mail;
    },
  };
}
