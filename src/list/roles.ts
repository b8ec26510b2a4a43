/**
 * The addresses of a list and what each is for (pure): the posting address; the request
 * address and its friends (LIST-request@, LIST-join@, LIST-leave@, LIST-subscribe@,
 * LIST-unsubscribe@, LIST+subscribe@, LIST+unsubscribe@, LIST-confirm+TOKEN@) for mail
 * commands; the bounce address, plain or VERP (LIST-bounces+alice=example.com+COOKIE@,
 * LIST-bounces+TOKEN+COOKIE@, and the old LIST-bounces+alice=example.com@ without a cookie,
 * which the bounce handler logs and does not count). Whether a cookie is good is the bounce
 * handler's business: it needs the secret and the member records. The owner address
 * (LIST-owner@): its mail goes to the people who run the list.
 */

import { normalizeAddress } from '../mail/address.ts';
import { type VerpParts, verpDecode } from '../mail/verp.ts';
import { bounceAddress, ownerAddress } from './addresses.ts';
import type { Command } from './commands.ts';
import type { ListSettings } from './settings.ts';
import { verpDelimiter } from './verp.ts';

export type AddressRole =
  | { role: 'post' }
  | { role: 'request'; command?: Command }
  | { role: 'bounces'; verp?: VerpParts }
  | { role: 'owner' };

const TOKEN = /^[0-9a-f]{32}-[0-9a-f]{24}$/;

function commandOf(word: string, arg?: string): Command | undefined | 'none' {
  switch (word) {
    case 'request':
      return arg === undefined ? 'none' : commandOf(arg);
    case 'join':
    case 'subscribe':
      return { verb: 'subscribe' };
    case 'leave':
    case 'unsubscribe':
      return { verb: 'unsubscribe' };
    case 'confirm':
      return arg && TOKEN.test(arg) ? { verb: 'confirm', token: arg } : 'none';
    default:
      return undefined;
  }
}

/** What `address` is for `list`, or undefined when it is none of its addresses. */
export function addressRole(list: ListSettings, address: string): AddressRole | undefined {
  const normal = normalizeAddress(address);
  if (!normal) return undefined;
  const listAddress = normalizeAddress(list.address);
  if (normal === listAddress) return { role: 'post' };
  const bounces = normalizeAddress(bounceAddress(list));
  if (normal === bounces) return { role: 'bounces' };
  if (normal === normalizeAddress(ownerAddress(list))) return { role: 'owner' };
  const verp = verpDecode(bounces, normal, verpDelimiter(list));
  if (verp?.token) return { role: 'bounces', verp };
  const recipient = normalizeAddress(verp?.recipient ?? '');
  if (verp && recipient) return { role: 'bounces', verp: { ...verp, recipient } };
  const at = listAddress.lastIndexOf('@');
  const local = listAddress.slice(0, at);
  const domain = listAddress.slice(at);
  if (!normal.endsWith(domain)) return undefined;
  const other = normal.slice(0, normal.length - domain.length);
  // LIST+subscribe, LIST-join, LIST-request+unsubscribe, LIST-confirm+TOKEN
  const m = new RegExp(
    `^${local.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([-+])([a-z]+)(?:\\+(.+))?$`,
  ).exec(other);
  if (!m) return undefined;
  const [, sep, word, arg] = m as unknown as [string, string, string, string | undefined];
  if (sep === '+' && (word === 'request' || word === 'confirm')) return undefined;
  const command = commandOf(word, arg);
  if (command === undefined) return undefined;
  return command === 'none' ? { role: 'request' } : { role: 'request', command };
}
