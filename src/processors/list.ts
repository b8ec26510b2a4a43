/**
 * What a list is, as every processor unit sees it: the validated settings of one
 * `lists/NAME.yaml`, with defaults applied. Units take it through their factory.
 */
import { normalizeAddress } from '../mail/address.ts';

export type PostingPolicy = 'open' | 'members' | 'moderated' | 'announce';
export type NonMemberAction = 'hold' | 'reject' | 'discard' | 'accept';

export interface ListSettings {
  /** The short name: the YAML file's name (`red` for lists/red.yaml). Keys state on disk. */
  name: string;
  /** The posting address, e.g. red@list.example.com. */
  address: string;
  /** The display name, e.g. "Red mail list". @default the short name */
  display_name?: string;
  /** Member addresses. */
  members: string[];
  /** Who may post. @default 'members' */
  posting?: PostingPolicy;
  /** What happens to a non-member's post on a `members` list. @default 'hold' */
  non_member_action?: NonMemberAction;
  /** Who may post to an `announce` list (and, on any list, who may post without being a member). */
  posters?: string[];
  /** Moderators (get held-mail notices). */
  moderators?: string[];
  /** Added to the subject, never stacked. @example "[Red] " */
  subject_prefix?: string;
  /** The envelope sender of distributed mail. @default LOCAL-bounces@DOMAIN */
  bounce_address?: string;
}

/** The list's bounce address: LOCAL-bounces@DOMAIN unless configured. */
export function bounceAddress(list: ListSettings): string {
  if (list.bounce_address) return list.bounce_address;
  const at = list.address.lastIndexOf('@');
  return `${list.address.slice(0, at)}-bounces${list.address.slice(at)}`;
}

/** The set of normalised member addresses, for membership checks by address (never substring). */
export function memberSet(addresses: readonly string[]): Set<string> {
  return new Set(addresses.map(normalizeAddress).filter((a) => a !== ''));
}
