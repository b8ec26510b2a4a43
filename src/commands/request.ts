/**
 * The request handler: turns a mail to LIST-request@ (LIST-join@, LIST-leave@,
 * LIST+subscribe@, …) into the mail it calls for — results for the sender, confirmation
 * requests, welcome and goodbye messages — returned as ListMails for the distributors.
 *
 * Crash-safety: membership effects are idempotent; confirmation tokens are only peeked
 * while acting, and consumed after the replies are recorded (memo.ts), so a replay
 * returns the same replies with the same keys and the journal sends each once.
 * Mail from robots (RFC 3834) is dropped unanswered: an auto-reply quoting "confirm
 * TOKEN" must never confirm anything.
 */
import { join } from 'node:path';
import { Discard } from '../errors.ts';
import type { Command } from '../list/commands.ts';
import type { ListSettings } from '../list/settings.ts';
import { normalizeAddress, parseAddressList } from '../mail/address.ts';
import { automationReason } from '../mail/automated.ts';
import { loadMailparser } from '../mail/lazy.ts';
import { mailBytes } from '../mail/list-mail.ts';
import type { MemberStore } from '../members/store.ts';
import { NoticeRateLimit } from '../notices/rate-limit.ts';
import { renderTemplate } from '../notices/templates.ts';
import type { NoticeCounts } from '../state/memos.ts';
import type { TokenStore } from '../state/tokens.ts';
import type { ListMail, Processor } from '../types.ts';
import type { ConfirmHandlers, OutgoingText } from './confirm-handlers.ts';
import {
  listVars,
  type MembershipContext,
  membershipHandlers,
  requestSet,
  requestSubscribe,
  requestUnsubscribe,
  type SubscribePolicy,
} from './membership.ts';
import { type MemoStore, RequestMemoStore } from './memo.ts';
import { parseRequest } from './parse.ts';
import { composeReplies, replyMail } from './replies.ts';
import { commandTemplate } from './templates.ts';

export interface RequestHandlerOptions {
  /** The list's members. */
  store: MemberStore;
  /** Pending confirmations (HMAC tokens with expiry). */
  tokens: TokenStore;
  /** Where handled requests are remembered for crash replay (`STATE/requests`). */
  state_dir: string;
  /** How new members join. @default 'confirm' */
  subscribe_policy?: SubscribePolicy;
  /** `open`: an unsubscribe from the member's own address is done at once. @default 'confirm' */
  unsubscribe_policy?: 'confirm' | 'open';
  /** Who approves subscriptions under the approve policies. @default the list's moderators */
  approvers?: string[];
  /** How long a confirmation token lives, in hours. @default 72 */
  confirm_hours?: number;
  /** Overrides of the texts in templates.ts, by key. */
  templates?: Partial<Record<string, string>>;
  /** Handlers of other token kinds (moderation's 'moderate'). */
  confirmHandlers?: ConfirmHandlers;
  /**
   * Mails one address may get from the request address per UTC day (shared counter with
   * the notices), so nobody can flood a victim with confirmation requests. @default 10
   */
  per_day?: number;
  /** Replay memos, as the composition root keeps them (`storage:`). @default STATE/requests */
  memos?: MemoStore;
  /** The daily notice counts, as the composition root keeps them. @default STATE/notices */
  notice_counts?: NoticeCounts;
  /** The clock. @default Date.now */
  now?: () => number;
}

export interface RequestHandler extends Processor {
  /** Handles a command mail; `addressCommand` is what the address itself says (join, leave). */
  handle(mail: ListMail, addressCommand?: Command): Promise<ListMail[]>;
  process(mail: ListMail): Promise<ListMail[]>;
}

async function bodyText(mail: ListMail): Promise<string> {
  try {
    const { simpleParser } = await loadMailparser();
    const parsed = await simpleParser(mailBytes(mail), {
      skipHtmlToText: false,
      skipImageLinks: true,
    });
    return parsed.text ?? '';
  } catch {
    return mail.body.toString('utf8');
  }
}

export default function createRequestHandler(
  list: ListSettings,
  options: RequestHandlerOptions,
): RequestHandler {
  if (!options?.store || !options.tokens || !options.state_dir)
    throw new Error(`request handler for ${list.name}: store, tokens and state_dir are required`);
  const memos = options.memos ?? new RequestMemoStore(join(options.state_dir, 'requests'));
  const limit = new NoticeRateLimit(options.notice_counts ?? join(options.state_dir, 'notices'), {
    per_day: options.per_day ?? 10,
  });
  const now = options.now ?? Date.now;
  const render = (key: Parameters<typeof commandTemplate>[0], vars: Record<string, string> = {}) =>
    renderTemplate(commandTemplate(key, options.templates), { ...listVars(list), ...vars });

  async function handle(mail: ListMail, addressCommand?: Command): Promise<ListMail[]> {
    const memo = await memos.get(list.name, mail.key);
    if (memo) {
      for (const token of memo.consume) await options.tokens.consume(token);
      const released: ListMail[] = [];
      for (const handler of Object.values(options.confirmHandlers ?? {}))
        released.push(...((await handler.replay?.(list, mail)) ?? []));
      const again = [
        ...memo.replies.map((r) => replyMail(list, mail.key, r.to, r.raw)),
        ...released,
      ];
      if (again.length === 0) throw new Discard('command handled');
      return again;
    }
    const robot = automationReason(mail);
    if (robot) throw new Discard(`request from a robot ignored (${robot})`);
    const requester = normalizeAddress(parseAddressList(mail.header.get('From'))[0]?.address ?? '');
    if (!requester) throw new Discard('request without a usable From address');

    const ctx: MembershipContext = {
      list,
      store: options.store,
      tokens: options.tokens,
      subscribePolicy: options.subscribe_policy ?? 'confirm',
      unsubscribePolicy: options.unsubscribe_policy ?? 'confirm',
      approvers: options.approvers ?? list.moderators ?? [],
      confirmTtlMs: (options.confirm_hours ?? 72) * 3_600_000,
      templates: options.templates,
      now: now(),
      budget: { confirmations: 1 },
    };
    const handlers = { ...options.confirmHandlers, ...membershipHandlers(ctx) };
    const parsed = parseRequest({
      subject: mail.header.getDecoded('Subject'),
      body: await bodyText(mail),
      addressCommand,
    });
    const results: string[] = [];
    const messages: OutgoingText[] = [];
    const consume: string[] = [];
    const released: ListMail[] = [];
    for (const command of parsed.commands) {
      switch (command.verb) {
        case 'help':
          messages.push({ to: requester, subject: render('help_subject'), text: render('help') });
          break;
        case 'subscribe': {
          const r = await requestSubscribe(ctx, requester, command.address, {
            digest: command.digest,
            plain: command.plain,
          });
          results.push(r.result);
          messages.push(...r.messages);
          break;
        }
        case 'unsubscribe': {
          const r = await requestUnsubscribe(ctx, requester, command.address);
          results.push(r.result);
          messages.push(...r.messages);
          break;
        }
        case 'set': {
          const r = await requestSet(ctx, requester, command.option, command.value);
          results.push(r.result);
          messages.push(...r.messages);
          break;
        }
        default: {
          const pending = await options.tokens.peek(command.token, ctx.now);
          const handler =
            pending && pending.list === list.name ? handlers[pending.kind] : undefined;
          if (!pending || !handler) {
            results.push(render('bad_token', { command: command.verb }));
            break;
          }
          const outcome = await handler({
            list,
            verb: command.verb,
            token: command.token,
            pending,
            requester,
            mail,
            now: ctx.now,
          });
          results.push(outcome.result);
          messages.push(...(outcome.messages ?? []));
          released.push(...(outcome.release ?? []));
          if (outcome.consume !== false) consume.push(command.token);
        }
      }
    }
    let summary = results.length > 0 ? `${render('results_intro')}\n${results.join('\n')}\n` : '';
    if (parsed.commands.length === 0) summary = `${render('no_commands')}\n${render('help')}`;
    // Counted, never quoted: the From is unverified, and the answer goes to it.
    if (parsed.unknown.length > 0)
      summary += render('unknown_lines', { count: String(parsed.unknown.length) });
    // The requester's results come after anything else mailed to them (a confirmation first).
    const toRequester = messages.some((m) => normalizeAddress(m.to) === requester);
    const onlyPending = results.length > 0 && toRequester && parsed.unknown.length === 0;
    if (summary && !(onlyPending && results.every((r) => r.includes(requester))))
      messages.push({ to: requester, subject: render('results_subject'), text: summary });
    const allowed = new Set<string>();
    for (const to of new Set(messages.map((m) => normalizeAddress(m.to)))) {
      if (to && (await limit.take(to, ctx.now))) allowed.add(to);
    }
    const replies = await composeReplies(
      list,
      mail,
      messages.filter((m) => allowed.has(normalizeAddress(m.to))),
      render('results_subject'),
    );
    await memos.put(list.name, mail.key, { replies, consume });
    for (const token of consume) await options.tokens.consume(token, ctx.now);
    if (replies.length === 0 && released.length === 0) throw new Discard('command handled');
    return [...replies.map((r) => replyMail(list, mail.key, r.to, r.raw)), ...released];
  }

  return {
    name: 'request',
    handle,
    process: (mail) => handle(mail),
  };
}
