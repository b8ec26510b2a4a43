/**
 * Membership changes asked for by mail, each needing the consent of the address concerned:
 * a confirmation token is mailed to that address (double opt-in), so nobody can subscribe,
 * unsubscribe or reconfigure someone else. Optionally the owners approve new members too.
 * Every effect is idempotent (adding a member twice is a no-op), so a replay is harmless.
 */

import { listAddressWith, requestAddress } from '../list/addresses.ts';
import type { SetOption } from '../list/commands.ts';
import type { ListSettings } from '../list/settings.ts';
import { addressProblem, normalizeAddress } from '../mail/address.ts';
import type { MemberStore } from '../members/store.ts';
import { renderTemplate } from '../notices/templates.ts';
import type { TokenStore } from '../state/tokens.ts';
import type { ConfirmHandlers, ConfirmOutcome, OutgoingText } from './confirm-handlers.ts';
import { type CommandTemplateKey, commandTemplate } from './templates.ts';

/**
 * `confirm`: the address confirms (double opt-in); `approve`: the owners approve;
 * `confirm-approve`: both; `open`: no confirmation (for lists fed by an admin only).
 */
export type SubscribePolicy = 'confirm' | 'approve' | 'confirm-approve' | 'open';

export interface MembershipContext {
  list: ListSettings;
  store: MemberStore;
  tokens: TokenStore;
  subscribePolicy: SubscribePolicy;
  /** `open`: an unsubscribe from the member's own From is done at once. */
  unsubscribePolicy: 'confirm' | 'open';
  /** Who approves subscriptions under `approve` policies. */
  approvers: string[];
  confirmTtlMs: number;
  templates?: Partial<Record<string, string>>;
  now: number;
  /**
   * Confirmations this request mail may still cause (one: a forged request must not turn
   * the list into a mail cannon). Approval requests to the list's approvers do not count.
   */
  budget: { confirmations: number };
}

export interface ActionResult {
  result: string;
  messages: OutgoingText[];
}

/** The placeholders every membership text may use. */
export function listVars(list: ListSettings): Record<string, string> {
  return {
    list_name: list.display_name ?? list.name,
    list_address: list.address,
    request_address: requestAddress(list),
    join_address: listAddressWith(list, 'join'),
    leave_address: listAddressWith(list, 'leave'),
  };
}

function text(
  ctx: MembershipContext,
  key: CommandTemplateKey,
  vars: Record<string, string | undefined>,
): string {
  return renderTemplate(commandTemplate(key, ctx.templates), { ...listVars(ctx.list), ...vars });
}

async function confirmation(
  ctx: MembershipContext,
  kind: string,
  to: string,
  data: Record<string, unknown>,
  template: CommandTemplateKey,
  vars: Record<string, string> = {},
): Promise<OutgoingText> {
  const token = await ctx.tokens.create(kind, ctx.list.name, data, ctx.confirmTtlMs, ctx.now);
  const expires = new Date(ctx.now + ctx.confirmTtlMs).toUTCString();
  return {
    to,
    subject: `confirm ${token}`,
    text: text(ctx, template, { ...vars, token, expires, address: String(data.address ?? to) }),
    confirmation: true,
  };
}

function welcome(ctx: MembershipContext, address: string): OutgoingText {
  return {
    to: address,
    subject: text(ctx, 'welcome_subject', { address }),
    text: text(ctx, 'welcome', { address }),
  };
}

/** How a new member takes mail: digests, plain-text digests. */
export interface DigestChoice {
  digest?: boolean;
  plain?: boolean;
}

function choiceOf(data: Record<string, unknown>): DigestChoice {
  return {
    ...(data.digest === true ? { digest: true } : {}),
    ...(data.plain === true ? { plain: true } : {}),
  };
}

async function approvalRequests(
  ctx: MembershipContext,
  address: string,
  choice: DigestChoice,
): Promise<OutgoingText[]> {
  const out: OutgoingText[] = [];
  for (const approver of ctx.approvers) {
    out.push(
      await confirmation(
        ctx,
        'approve-subscribe',
        approver,
        { address, ...choice },
        'approve_subscribe',
      ),
    );
  }
  return out;
}

/**
 * The address a command is about, in normal form, or the reply saying why it cannot be
 * used (the one address grammar: what cannot be stored is refused before any token).
 */
function usable(
  ctx: MembershipContext,
  command: string,
  given: string,
): { address: string } | ActionResult {
  const address = normalizeAddress(given);
  const problem = address ? addressProblem(address) : 'it is not a mail address';
  if (!problem) return { address };
  return { result: text(ctx, 'bad_address', { command, reason: problem }), messages: [] };
}

/**
 * How an address shows in the results mailed to the requester: their own as it is, anyone
 * else's not at all — the requester's From is unverified, and nothing they wrote is echoed.
 */
function shown(requester: string, address: string): string {
  return address === requester ? address : 'the address given';
}

/** Spends the mail's one confirmation; the reply saying so when it was spent already. */
function spend(ctx: MembershipContext, command: string): ActionResult | undefined {
  if (ctx.budget.confirmations <= 0)
    return { result: text(ctx, 'one_confirmation', { command }), messages: [] };
  ctx.budget.confirmations--;
  return undefined;
}

/** `subscribe [address] [digest]` from `requester`. */
export async function requestSubscribe(
  ctx: MembershipContext,
  requester: string,
  target: string | undefined,
  choice: DigestChoice = {},
): Promise<ActionResult> {
  const checked = usable(ctx, 'subscribe', target ?? requester);
  if (!('address' in checked)) return checked;
  const { address } = checked;
  const self = address === requester;
  if (ctx.subscribePolicy === 'open' && self) {
    await ctx.store.add({ address, ...choiceOf({ ...choice }) });
    return {
      result: text(ctx, 'confirmed_subscribe', { address }),
      messages: [welcome(ctx, address)],
    };
  }
  if (ctx.subscribePolicy === 'approve' && self) {
    return {
      result: text(ctx, 'subscribe_approval', { address }),
      messages: await approvalRequests(ctx, address, choiceOf({ ...choice })),
    };
  }
  const spent = spend(ctx, 'subscribe');
  if (spent) return spent;
  return {
    result: text(ctx, 'subscribe_pending', { address: shown(requester, address) }),
    messages: [
      await confirmation(
        ctx,
        'subscribe',
        address,
        { address, ...choiceOf({ ...choice }) },
        'confirm_subscribe',
      ),
    ],
  };
}

/** `unsubscribe [address]` from `requester`. */
export async function requestUnsubscribe(
  ctx: MembershipContext,
  requester: string,
  target: string | undefined,
): Promise<ActionResult> {
  const checked = usable(ctx, 'unsubscribe', target ?? requester);
  if (!('address' in checked)) return checked;
  const { address } = checked;
  if (ctx.unsubscribePolicy === 'open' && address === requester) {
    await ctx.store.remove(address);
    return {
      result: text(ctx, 'confirmed_unsubscribe', { address }),
      messages: [goodbye(ctx, address)],
    };
  }
  // Confirmation is mailed even to a non-member: the answer must not tell who is subscribed.
  const spent = spend(ctx, 'unsubscribe');
  if (spent) return spent;
  return {
    result: text(ctx, 'unsubscribe_pending', { address: shown(requester, address) }),
    messages: [await confirmation(ctx, 'unsubscribe', address, { address }, 'confirm_unsubscribe')],
  };
}

/** `set OPTION on|off` for the requester's own membership. */
export async function requestSet(
  ctx: MembershipContext,
  requester: string,
  option: SetOption,
  value: boolean,
): Promise<ActionResult> {
  const values = { option, value: value ? 'on' : 'off' };
  if (!(await ctx.store.get(requester)))
    return {
      result: text(ctx, 'not_member', { command: `set ${option}`, address: requester }),
      messages: [],
    };
  const spent = spend(ctx, `set ${option}`);
  if (spent) return spent;
  return {
    result: text(ctx, 'set_pending', { ...values, address: requester }),
    messages: [
      await confirmation(
        ctx,
        'set',
        requester,
        { address: requester, option, value },
        'confirm_set',
        values,
      ),
    ],
  };
}

function goodbye(ctx: MembershipContext, address: string): OutgoingText {
  return {
    to: address,
    subject: text(ctx, 'goodbye_subject', { address }),
    text: text(ctx, 'goodbye', { address }),
  };
}

/** The confirm handlers of the membership kinds. */
export function membershipHandlers(ctx: MembershipContext): ConfirmHandlers {
  const cancel = (command: string, address: string): ConfirmOutcome => ({
    result: text(ctx, 'rejected_request', { command, address }),
  });
  return {
    async subscribe({ pending, verb }) {
      const address = String(pending.data.address);
      const choice = choiceOf(pending.data);
      if (verb === 'reject' || verb === 'discard') return cancel('subscribe', address);
      if (ctx.subscribePolicy === 'confirm-approve' || ctx.subscribePolicy === 'approve') {
        return {
          result: text(ctx, 'subscribe_approval', { address }),
          messages: await approvalRequests(ctx, address, choice),
        };
      }
      await ctx.store.add({ address, ...choice });
      return {
        result: text(ctx, 'confirmed_subscribe', { address }),
        messages: [welcome(ctx, address)],
      };
    },
    async 'approve-subscribe'({ pending, verb }) {
      const address = String(pending.data.address);
      if (verb === 'reject' || verb === 'discard') return cancel('subscribe', address);
      await ctx.store.add({ address, ...choiceOf(pending.data) });
      return {
        result: text(ctx, 'confirmed_subscribe', { address }),
        messages: [welcome(ctx, address)],
      };
    },
    async unsubscribe({ pending, verb }) {
      const { address } = pending.data as { address: string };
      if (verb === 'reject' || verb === 'discard') return cancel('unsubscribe', address);
      await ctx.store.remove(address);
      return {
        result: text(ctx, 'confirmed_unsubscribe', { address }),
        messages: [goodbye(ctx, address)],
      };
    },
    async set({ pending, verb }) {
      const { address, option, value } = pending.data as {
        address: string;
        option: SetOption;
        value: boolean;
      };
      const shown = { option, value: value ? 'on' : 'off', address };
      if (verb === 'reject' || verb === 'discard') return cancel(`set ${option}`, address);
      const patch =
        option === 'mail'
          ? { nomail: !value }
          : option === 'nomail'
            ? { nomail: value, ...(value ? { nomail_reason: 'user' as const } : {}) }
            : { [option]: value };
      const done = await ctx.store.update(address, patch);
      if (!done) return { result: text(ctx, 'not_member', { command: `set ${option}`, address }) };
      return { result: text(ctx, 'confirmed_set', shown) };
    },
  };
}
