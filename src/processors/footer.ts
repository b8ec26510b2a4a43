/**
 * `footer` — adds the list's footer (and optionally a header text) to every post, MIME-
 * safely (see `decorate.ts`): in the text part's own charset and transfer encoding, in both
 * alternatives (the HTML footer in the HTML part), as a new part of a multipart/mixed, or by
 * wrapping signed and encrypted mail instead of touching it.
 *
 * Templates use `{list_name}`, `{display_name}`, `{list_address}`, `{request_address}`,
 * `{owner_address}`, `{unsubscribe_url}`, `{archive_url}` (the list's archive page),
 * `{permalink}` (this post's page in malist's web archive), and `{member}` for a
 * personalised footer; in the HTML form they are HTML-escaped. A footer that names the
 * member is left to `personalize()`, called per recipient by a personalising distributor.
 */

import { z } from 'zod';
import { ownerAddress, requestAddress } from '../list/addresses.ts';
import { listArchiveUrl, permalink } from '../list/archive.ts';
import type { ListSettings } from '../list/settings.ts';
import { lazySchema } from '../mail/deferred-option.ts';
import { cloneListMail, messageId } from '../mail/list-mail.ts';
import { optionalText } from '../mail/shared-options.ts';
import type { ListMail, Processor } from '../types.ts';
import { decorateMail } from './decorate.ts';
import { isPersonalUrl, personalizeUnsubscribe } from './list-headers.ts';

export interface FooterOptions {
  /**
   * The plain-text footer; `false` adds none.
   * @default "-- \n{display_name} -- {list_address}\nTo unsubscribe, send \"unsubscribe\" to {request_address}"
   */
  text?: string | false;
  /** The HTML footer for HTML parts. @default the plain footer, escaped, in a <div> */
  html?: string;
  /** A text put at the start of every post. @default none */
  header?: string;
  /** The HTML form of `header`. @default `header`, escaped */
  header_html?: string;
}

export const DEFAULT_FOOTER =
  '-- \n{display_name} -- {list_address}\nTo unsubscribe, send "unsubscribe" to {request_address}';

/** The template variables of a list. Pure. */
export function footerVars(list: ListSettings): Record<string, string> {
  return {
    list_name: list.name,
    display_name: list.display_name ?? list.name,
    list_address: list.address,
    request_address: requestAddress(list),
    owner_address: ownerAddress(list),
    unsubscribe_url:
      list.unsubscribe_url?.replace(/\{list\}/g, encodeURIComponent(list.name)) ?? '',
    archive_url: listArchiveUrl(list) ?? '',
  };
}

export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

function fill(template: string, vars: Record<string, string>, html: boolean): string {
  return template.replace(/\{([a-z_]+)\}/g, (whole, name: string) => {
    const value = vars[name];
    if (value === undefined) return whole;
    return html ? escapeHtml(value) : value;
  });
}

function asHtml(text: string): string {
  return `<div class="malist-footer"><br>${escapeHtml(text).replace(/\r?\n/g, '<br>\n')}</div>`;
}

/** The texts for `list`, with `member` (and its URL) filled in when given. */
function texts(
  list: ListSettings,
  options: FooterOptions,
  mail: ListMail | undefined,
  member?: { address: string; token?: string },
) {
  const vars = footerVars(list);
  vars['permalink'] = (mail && permalink(list, messageId(mail))) ?? '';
  if (member) {
    vars['member'] = member.address;
    vars['unsubscribe_url'] = (list.unsubscribe_url ?? '').replace(
      /\{(list|member|token)\}/g,
      (_, k: string) =>
        encodeURIComponent(
          k === 'list' ? list.name : k === 'member' ? member.address : (member.token ?? ''),
        ),
    );
  }
  const text =
    options.text === false ? undefined : fill(options.text ?? DEFAULT_FOOTER, vars, false);
  const footerHtml = options.html ? fill(options.html, vars, true) : text && asHtml(text);
  const header = options.header === undefined ? undefined : fill(options.header, vars, false);
  const headerHtml = options.header_html
    ? fill(options.header_html, vars, true)
    : header && asHtml(header);
  return { footer: text, footerHtml, header, headerHtml };
}

/** True when the footer names the member (directly, or through a personal unsubscribe URL). */
export function isPersonal(list: ListSettings, options: FooterOptions): boolean {
  const templates = [
    options.text ?? DEFAULT_FOOTER,
    options.html,
    options.header,
    options.header_html,
  ];
  return templates.some(
    (t) =>
      typeof t === 'string' &&
      (t.includes('{member}') ||
        (t.includes('{unsubscribe_url}') && isPersonalUrl(list.unsubscribe_url))),
  );
}

/**
 * One recipient's copy of a post: decorated for `member` when its footer names the member
 * (`options`; without them the shared footer is already in the post), and with their
 * List-Unsubscribe one-click URL. For a distributor that sends one transaction per
 * recipient; the shared copy is not touched.
 */
export function personalize(
  mail: ListMail,
  list: ListSettings,
  options: FooterOptions | undefined,
  member: { address: string; token?: string },
): ListMail {
  const copy = { ...cloneListMail(mail), ml_send_to: [member.address] };
  if (options) decorateMail(copy, texts(list, options, mail, member));
  personalizeUnsubscribe(copy, list, member.address, member.token);
  return copy;
}

/** The options of `type: footer` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = lazySchema(() =>
  z.strictObject({
    text: z.union([z.string(), z.literal(false)]).optional(),
    html: optionalText,
    header: optionalText,
    header_html: optionalText,
  }),
);

export default function createFooter(list: ListSettings, options: FooterOptions = {}): Processor {
  // A footer naming the member cannot be written once for all: `personalize()` adds it.
  const personal = isPersonal(list, options);
  // One naming the post (`{permalink}`) is written for each post.
  const perPost = [options.text, options.html, options.header, options.header_html].some(
    (t) => typeof t === 'string' && t.includes('{permalink}'),
  );
  const shared = personal || perPost ? undefined : texts(list, options, undefined);
  return {
    name: 'footer',
    async process(mail) {
      if (shared) decorateMail(mail, shared);
      else if (!personal) decorateMail(mail, texts(list, options, mail));
      return mail;
    },
  };
}
