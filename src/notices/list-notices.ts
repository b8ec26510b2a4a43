/**
 * Notices a list sends about a post: to its poster (rejected, held, expired) and to its
 * moderators (a post awaits a decision). Every one goes through `sendNotice`: never to a
 * robot, never over the daily budget.
 */
import { join } from 'node:path';
import { bounceAddress, listIdLabel, ownerAddress, requestAddress } from '../list/addresses.ts';
import type { ListSettings } from '../list/settings.ts';
import { formatMailbox, parseAddressList } from '../mail/address.ts';
import type { NoticeCounts } from '../state/memos.ts';
import type { ListMail } from '../types.ts';
import type { NoticeSender } from './compose.ts';
import { NoticeRateLimit } from './rate-limit.ts';
import { type NoticeOutcome, type NoticeOutlet, sendNotice } from './send.ts';
import { renderTemplate, type TemplateKey, templateText } from './templates.ts';

/** The template variables every notice of `list` knows. */
export function listVars(list: ListSettings): Record<string, string> {
  return {
    list_name: list.display_name ?? list.name,
    list_address: list.address,
    request_address: requestAddress(list),
    owner_address: ownerAddress(list),
    expiry_days: String(list.held_expiry_days ?? 14),
  };
}

/** The poster's address: the first From mailbox. */
export function posterOf(mail: ListMail): string | undefined {
  return parseAddressList(mail.header.get('From'))[0]?.address;
}

export interface ListNotice {
  /** `rejected`, `held`, `expired`, `moderator`, … (subject key is `<kind>_subject`). */
  kind:
    | 'rejected'
    | 'held'
    | 'expired'
    | 'moderator'
    | 'owner_forward'
    | 'dead_letters'
    | 'token_refused'
    | 'token_done';
  to: string;
  vars?: Record<string, string>;
  /** The post the notice is about (threaded to it; attached for `rejected` and `moderator`). */
  about?: ListMail;
  /** The mail being answered: no notice if it is automated. */
  answering?: ListMail;
  templates?: Partial<Record<string, string>>;
  /** Reply-To (a moderator notice: the request address, so a reply confirms). */
  replyTo?: string;
}

/** Sends one notice of `list`. */
export async function sendListNotice(
  outlet: NoticeOutlet,
  list: ListSettings,
  notice: ListNotice,
  now = Date.now(),
): Promise<NoticeOutcome> {
  const vars = {
    ...listVars(list),
    subject: notice.about?.header.getDecoded('Subject') ?? '(no subject)',
    from: notice.about?.header.getDecoded('From') ?? '(unknown sender)',
    ...notice.vars,
  };
  // The list's own texts (its YAML `templates:`) win over the installation's.
  const texts = list.templates ? { ...notice.templates, ...list.templates } : notice.templates;
  const render = (key: TemplateKey) => renderTemplate(templateText(key, texts), vars);
  return sendNotice(
    outlet,
    {
      envelopeFrom: bounceAddress(list),
      from: formatMailbox(`${list.display_name ?? list.name} owner`, ownerAddress(list)),
      to: notice.to,
      replyTo: notice.replyTo,
      subject: render(`${notice.kind}_subject` as TemplateKey),
      text: render(notice.kind),
      autoSubmitted: notice.answering ? 'auto-replied' : 'auto-generated',
      about: notice.about,
      attach: ['rejected', 'moderator', 'owner_forward'].includes(notice.kind),
      headers: { 'List-Id': `<${listIdLabel(list)}>` },
    },
    notice.answering,
    now,
  );
}

/** What every notice-sending reactor takes (wired by the config). */
export interface NoticeReactorOptions {
  /** The lists served, by short name. */
  lists: Record<string, ListSettings>;
  /** The state directory: notice counters live in `notices/` under it. */
  state_dir: string;
  /** The daily notice counts, as the composition root keeps them (`storage:`). @default STATE/notices */
  notice_counts?: NoticeCounts;
  /** Where notices go: the configured distributor (a queue for SMTP). */
  send: NoticeSender;
  /** Notices one address may get per day. @default 10 */
  per_day?: number;
  /** Overrides of the notice texts, by key (see notices/templates.ts). */
  templates?: Partial<Record<string, string>>;
  /** Told why a notice was not sent. @default nothing */
  log?: (line: string) => void;
  /** The clock (token expiry, daily budgets). @default Date.now */
  now?: () => number;
}

/** The outlet of a notice reactor. */
export function noticeOutlet(
  options: NoticeReactorOptions,
  perDay = options.per_day,
): NoticeOutlet {
  return {
    send: options.send,
    limit: new NoticeRateLimit(options.notice_counts ?? join(options.state_dir, 'notices'), {
      per_day: perDay,
    }),
    log: options.log,
  };
}
