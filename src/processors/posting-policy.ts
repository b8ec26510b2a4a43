/**
 * `posting-policy` — who may post: `open` (anyone), `members` (members and `posters`;
 * others get `non_member_action`), `moderated` (everything held), `announce` (only
 * `posters`). The poster is every From mailbox and the Sender, compared by normal address
 * (case-insensitive, IDN domains in punycode), never by substring. A post a moderator
 * approved (`ml_approved`: released from hold, or a valid `Approved:` field) passes.
 *
 * With a member store, membership is read from it at each post, not from the members
 * loaded with the configuration: someone who subscribed by mail may post at once, one who
 * left may not, and a member flagged `moderate` is held whatever the policy.
 *
 * `require_authenticated_from` closes the forged-From hole: where it applies, a post counts
 * as from a member (or poster) only when the `authenticate` unit found its From
 * authenticated (an aligned DKIM or SPF pass, or a trusted sealer's ARC chain), and only
 * its From is matched (Sender proves nothing). Otherwise the non-member action applies,
 * with the reason "From not authenticated: …". A post not verified at all fails closed.
 */

import { z } from 'zod';
import { authenticatedFrom, requiresAuthentication } from '../auth/authenticated-from.ts';
import { Discard, Hold, Reject } from '../errors.ts';
import type { ListSettings } from '../list/settings.ts';
import { parseAddressList } from '../mail/address.ts';
import { lazySchema } from '../mail/deferred-option.ts';
import type { Member } from '../members/store.ts';
import type { ListMail, Processor } from '../types.ts';
import { memberSet } from './rules.ts';

export type PostingPolicyOptions = Record<string, never>;

/** The poster's addresses: all From mailboxes, then Sender. */
export function posterAddresses(mail: ListMail): string[] {
  return [
    ...parseAddressList(mail.header.get('From')),
    ...parseAddressList(mail.header.get('Sender')),
  ].map((m) => m.address);
}

/**
 * Why the post's From does not count (`From not authenticated: …`), or undefined when the
 * list does not require it for the From domain or the From is authenticated (pure).
 */
export function fromNotAuthenticated(list: ListSettings, mail: ListMail): string | undefined {
  if (!authenticationRequired(list, mail)) return undefined;
  if (!mail.ml_auth)
    return 'From not authenticated: the post was not verified (the pipeline needs the authenticate unit before posting-policy, and malist.yaml authentication:)';
  const decision = authenticatedFrom(mail.ml_auth, {
    trustedSealers: list.arc_trusted_sealers ?? [],
  });
  return decision.authenticated ? undefined : decision.reason;
}

/** Whether `require_authenticated_from` applies to the post's From domain. */
function authenticationRequired(list: ListSettings, mail: ListMail): boolean {
  const setting = list.require_authenticated_from ?? false;
  if (setting === false) return false;
  const from = parseAddressList(mail.header.get('From'))[0]?.address ?? '';
  const domain = mail.ml_auth?.from.domains[0] ?? from.slice(from.lastIndexOf('@') + 1);
  return requiresAuthentication(setting, domain.toLowerCase() || undefined);
}

/** The non-member action for `reason`: a signal, or nothing for `accept`. */
function nonMember(list: ListSettings, reason: string): void {
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

/**
 * Throws the signal for a post its poster may not send (pure). `stored`: the member store's
 * entries for the poster's addresses, when the list has a store (else `list.members` counts).
 */
export function checkPoster(list: ListSettings, mail: ListMail, stored?: Member[]): void {
  const policy = list.posting ?? 'members';
  if (mail.ml_approved) return;
  const poster = posterAddresses(mail);
  const shown = poster[0] ?? '(no From address)';
  const moderated = stored?.find((m) => m.moderate);
  if (moderated)
    throw new Hold(`${moderated.address} is moderated on ${list.address}: a moderator decides`);
  if (policy === 'open') return;
  if (policy === 'moderated')
    throw new Hold(`${list.name} is moderated: every post waits for a moderator`);
  const posters = memberSet(list.posters ?? []);
  const members = stored ? memberSet(stored.map((m) => m.address)) : memberSet(list.members);
  const allowed = policy === 'announce' ? posters : new Set([...members, ...posters]);
  const unauthenticated = fromNotAuthenticated(list, mail);
  // Where the From must be authenticated, the Sender (which nothing vouches for) is no poster.
  const normal = memberSet(
    authenticationRequired(list, mail)
      ? parseAddressList(mail.header.get('From')).map((m) => m.address)
      : poster,
  );
  if ([...normal].some((a) => allowed.has(a))) {
    if (unauthenticated) nonMember(list, `${shown}: ${unauthenticated}`);
    return;
  }
  if (policy === 'announce')
    throw new Reject(`${shown} may not post to the announce list ${list.address}`);
  nonMember(list, `${shown} is not a member of ${list.address}`);
}

/** The options of `type: posting-policy` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = lazySchema(() => z.strictObject({}));

export default function createPostingPolicy(
  list: ListSettings,
  _options: PostingPolicyOptions = {},
): Processor {
  return {
    name: 'posting-policy',
    async process(mail) {
      const store = list.member_store;
      if (!store || mail.ml_approved) {
        checkPoster(list, mail);
        return mail;
      }
      const found = await Promise.all(
        [...memberSet(posterAddresses(mail))].map((a) => store.get(a)),
      );
      checkPoster(
        list,
        mail,
        found.filter((m): m is Member => m !== undefined),
      );
      return mail;
    },
  };
}
