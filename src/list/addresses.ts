/**
 * The addresses and labels a list derives from its posting address: LIST-request@,
 * LIST-owner@, LIST-bounces@ and the RFC 2919 List-Id label.
 */
import type { ListSettings } from './settings.ts';

/** LOCAL-SUFFIX@DOMAIN for the list's address. */
export function listAddressWith(list: ListSettings, suffix: string): string {
  const at = list.address.lastIndexOf('@');
  return `${list.address.slice(0, at)}-${suffix}${list.address.slice(at)}`;
}

/** The address of the list's mail commands (subscribe, confirm, moderation tokens). */
export function requestAddress(list: ListSettings): string {
  return listAddressWith(list, 'request');
}

/** The address of the list's owners (From of notices). */
export function ownerAddress(list: ListSettings): string {
  return listAddressWith(list, 'owner');
}

/** The list's bounce address: LOCAL-bounces@DOMAIN unless configured. */
export function bounceAddress(list: ListSettings): string {
  if (list.bounce_address) return list.bounce_address;
  return listAddressWith(list, 'bounces');
}

/** The RFC 2919 label: `list_id`, else the address with '@' as '.', as a dot-atom. */
export function listIdLabel(list: ListSettings): string {
  const label = list.list_id ?? list.address.replace('@', '.');
  return label.replace(/[^A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]/g, '-').toLowerCase();
}
