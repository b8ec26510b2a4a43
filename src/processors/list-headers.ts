/**
 * `list-headers` — the list's standard fields on every post: List-Id (RFC 2919), List-Post
 * (or NO on an announce list), List-Help, List-Subscribe, List-Unsubscribe, List-Archive,
 * List-Owner (RFC 2369), Precedence: list, and with malist's web archive (`archive: {url}`)
 * each post's permalink as Archived-At (RFC 5064). Fields of the same name already present
 * (another list's, another archive's) are replaced, never doubled.
 *
 * An unsubscribe URL that names the member (`{member}`, `{token}`) cannot be written once
 * for every recipient: this unit then gives the mailto form only, and a per-recipient
 * distributor calls `personalizeUnsubscribe()` to add the URL and RFC 8058 one-click.
 */

import { z } from 'zod';
import { listIdLabel, ownerAddress, requestAddress } from '../list/addresses.ts';
import { listArchiveUrl, permalink } from '../list/archive.ts';
import type { ListSettings } from '../list/settings.ts';
import { formatMailbox } from '../mail/address.ts';
import { lazySchema } from '../mail/deferred-option.ts';
import { messageId } from '../mail/list-mail.ts';
import { optionalBoolean } from '../mail/shared-options.ts';
import type { ListMail, Processor } from '../types.ts';

export interface ListHeadersOptions {
  /** The Precedence value; `false` adds none. @default 'list' */
  precedence?: string | false;
  /** Add List-Owner. @default true */
  owner?: boolean;
}

/** True when the unsubscribe URL template names the member (personalised, RFC 8058). */
export function isPersonalUrl(template: string | undefined): boolean {
  return template !== undefined && /\{(member|token)\}/.test(template);
}

function mailto(address: string, subject?: string): string {
  return `<mailto:${address}${subject ? `?subject=${subject}` : ''}>`;
}

function fillUrl(template: string, vars: Record<string, string>): string {
  return template.replace(/\{(list|member|token)\}/g, (_, name: string) =>
    encodeURIComponent(vars[name] ?? ''),
  );
}

/** The fields and values to set, in order. Pure. */
export function listHeaderValues(
  list: ListSettings,
  options: ListHeadersOptions = {},
): [string, string][] {
  const request = requestAddress(list);
  // formatMailbox quotes or encodes the phrase: a name like "Bcc: x" stays a phrase.
  const out: [string, string][] = [
    ['List-Id', formatMailbox(list.display_name ?? list.name, listIdLabel(list))],
  ];
  out.push([
    'List-Post',
    list.posting === 'announce' ? 'NO (posting not allowed on this list)' : mailto(list.address),
  ]);
  const withUrl = (first: string, url?: string) => (url ? `${first}, <${url}>` : first);
  out.push(['List-Help', withUrl(mailto(request, 'help'), list.help_url)]);
  out.push(['List-Subscribe', withUrl(mailto(request, 'subscribe'), list.subscribe_url)]);
  const unsubscribe = isPersonalUrl(list.unsubscribe_url)
    ? undefined
    : list.unsubscribe_url && fillUrl(list.unsubscribe_url, { list: list.name });
  out.push(['List-Unsubscribe', withUrl(mailto(request, 'unsubscribe'), unsubscribe)]);
  const archive = listArchiveUrl(list);
  if (archive) out.push(['List-Archive', `<${archive}>`]);
  if (options.owner ?? true) out.push(['List-Owner', mailto(ownerAddress(list))]);
  const precedence = options.precedence ?? 'list';
  if (precedence) out.push(['Precedence', precedence]);
  return out;
}

/**
 * For one recipient: List-Unsubscribe with the member's own URL, and RFC 8058 one-click.
 * `token` is whatever the web side needs to trust the click (an HMAC of the address).
 */
export function personalizeUnsubscribe(
  mail: ListMail,
  list: ListSettings,
  member: string,
  token = '',
): void {
  if (!isPersonalUrl(list.unsubscribe_url)) return;
  const url = fillUrl(list.unsubscribe_url!, { list: list.name, member, token });
  mail.header.set('List-Unsubscribe', `${mailto(requestAddress(list), 'unsubscribe')}, <${url}>`);
  mail.header.set('List-Unsubscribe-Post', 'List-Unsubscribe=One-Click');
}

/** The options of `type: list-headers` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = lazySchema(() =>
  z.strictObject({
    precedence: z.union([z.string(), z.literal(false)]).optional(),
    owner: optionalBoolean,
  }),
);

export default function createListHeaders(
  list: ListSettings,
  options: ListHeadersOptions = {},
): Processor {
  const values = listHeaderValues(list, options);
  return {
    name: 'list-headers',
    async process(mail) {
      mail.header.remove('List-Unsubscribe-Post');
      for (const [name, value] of values) mail.header.set(name, value);
      // A post archived elsewhere before (a cross-post) keeps no other archive's link.
      mail.header.remove('Archived-At');
      const link = permalink(list, messageId(mail));
      if (link) mail.header.set('Archived-At', `<${link}>`);
      return mail;
    },
  };
}
