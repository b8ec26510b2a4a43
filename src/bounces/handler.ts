/**
 * The bounce handler: mail to LIST-bounces@ (and LIST-bounces+alice=example.com@, VERP).
 * Finds who bounced (the VERP address first: it survives unreadable reports; else the
 * report's recipients who are members), scores each, and when a member crosses the
 * threshold sets them to nomail, tells the owners, and mails the member a notice that is
 * also a probe (its envelope sender is the member's VERP address, so a bounce of it is
 * attributed even if the report is unreadable). Auto-replies and robots are dropped.
 *
 * Returns the notices as ListMails (keys derived from the bounce's key; replies recorded
 * before returning so a replay sends the same ones), or Discard when there is nothing to send.
 */
import { join } from 'node:path';
import type { OutgoingText } from '../commands/confirm-handlers.ts';
import { RequestMemoStore } from '../commands/memo.ts';
import { composeReplies, replyMail } from '../commands/replies.ts';
import { Discard } from '../errors.ts';
import { bounceAddress, requestAddress } from '../list/addresses.ts';
import type { ListSettings } from '../list/settings.ts';
import { normalizeAddress } from '../mail/address.ts';
import { verpAddress } from '../mail/verp.ts';
import type { MemberStore } from '../members/store.ts';
import { renderTemplate } from '../notices/templates.ts';
import type { ListMail } from '../types.ts';
import { addressesOf, type BouncedRecipient, classifyBounce } from './classify.ts';
import { recordBounce } from './record.ts';
import type { BounceScoreOptions } from './score.ts';
import { BounceState } from './state.ts';

export interface BounceHandlerOptions extends BounceScoreOptions {
  store: MemberStore;
  /** Bounce records and replay memos live here (`STATE/bounces`, `STATE/requests`). */
  state_dir: string;
  /** Who hears of members set to nomail. @default the list's moderators */
  owners?: string[];
  /** Text overrides: `bounce_disabled`, `bounce_disabled_subject`, `bounce_owner`. */
  templates?: Partial<Record<string, string>>;
  /** The clock. @default Date.now */
  now?: () => number;
}

export const BOUNCE_TEMPLATES = {
  bounce_disabled_subject: 'Your mail from the {list_name} list is stopped',
  bounce_disabled: `Mail from the {list_name} list ({list_address}) to {address} has bounced
too often, so the list no longer sends you posts. You are still a member.

The last error was:

    {diagnostic}

When your mailbox works again, send "set mail" to {request_address} to receive posts
again, or "unsubscribe" to leave.
`,
  bounce_owner_subject: '{address} set to nomail on {list_name} (bounces)',
  bounce_owner: `Mail to {address} on the {list_name} list bounced {count} times (score {score});
the member is set to nomail. Last error:

    {diagnostic}
`,
} as const;

export interface BounceHandler {
  readonly name: 'bounces';
  /** `verp`: the member address decoded from the bounce address, when there was one. */
  handle(mail: ListMail, verp?: string): Promise<ListMail[]>;
}

function worst(recipients: readonly BouncedRecipient[]): BouncedRecipient | undefined {
  return (
    recipients.find((r) => r.action === 'failed' && r.class === 'hard') ??
    recipients.find((r) => r.action === 'failed') ??
    recipients[0]
  );
}

export default function createBounceHandler(
  list: ListSettings,
  options: BounceHandlerOptions,
): BounceHandler {
  if (!options?.store || !options.state_dir)
    throw new Error(`bounce handler for ${list.name}: store and state_dir are required`);
  const state = new BounceState(options.state_dir, list.name);
  const memos = new RequestMemoStore(join(options.state_dir, 'requests'));
  const now = options.now ?? Date.now;
  const text = (key: keyof typeof BOUNCE_TEMPLATES, vars: Record<string, string>) =>
    renderTemplate(options.templates?.[key] ?? BOUNCE_TEMPLATES[key], {
      list_name: list.display_name ?? list.name,
      list_address: list.address,
      request_address: requestAddress(list),
      ...vars,
    });

  return {
    name: 'bounces',
    async handle(mail, verp) {
      const memo = await memos.get(`${list.name}.bounces`, mail.key);
      if (memo?.replies.length === 0) throw new Discard('bounce already recorded');
      if (memo) return memo.replies.map((r) => probe(list, mail.key, r.to, r.raw));
      const verdict = classifyBounce(mail.raw);
      if (verdict.kind === 'not-bounce') {
        // What the parser cannot attribute is shown as such, so the operator sees it.
        if (verdict.reason === 'unrecognised') {
          const line = (name: string) =>
            (mail.header.getDecoded(name) ?? '').replace(/[\r\n\t]+/g, ' ').slice(0, 200);
          throw new Discard(
            `unrecognised bounce from ${line('From') || '(no From)'}: ${line('Subject')}`,
          );
        }
        throw new Discard(`not a bounce (${verdict.reason})`);
      }
      const events: BouncedRecipient[] = [];
      const verpAddr = verp ? normalizeAddress(verp) : '';
      if (verpAddr) {
        const found =
          verdict.recipients.find((r) => addressesOf(r).includes(verpAddr)) ??
          worst(verdict.recipients)!;
        events.push({ ...found, address: verpAddr });
      } else {
        // The report may name the member (Original-Recipient) or where it led (Final-Recipient).
        for (const r of verdict.recipients) {
          let address = r.address;
          for (const a of addressesOf(r))
            if (await options.store.get(a)) {
              address = a;
              break;
            }
          events.push({ ...r, address });
        }
      }
      const messages: OutgoingText[] = [];
      const at = now();
      for (const r of events) {
        const outcome = await recordBounce(
          {
            address: r.address,
            class: r.class,
            action: r.action,
            key: mail.key,
            diagnostic: r.diagnostic,
          },
          options.store,
          state,
          options,
          at,
        );
        if (outcome.result !== 'disabled') continue;
        const vars = {
          address: outcome.address,
          diagnostic: r.diagnostic || r.status || 'unknown',
          count: String(outcome.record?.count ?? 0),
          score: (outcome.record?.score ?? 0).toFixed(1),
        };
        messages.push({
          to: outcome.address,
          subject: text('bounce_disabled_subject', vars),
          text: text('bounce_disabled', vars),
        });
        for (const owner of options.owners ?? list.moderators ?? []) {
          messages.push({
            to: owner,
            subject: text('bounce_owner_subject', vars),
            text: text('bounce_owner', vars),
          });
        }
      }
      const replies = await composeReplies(list, mail, messages, `Bounces on ${list.address}`);
      await memos.put(`${list.name}.bounces`, mail.key, { replies, consume: [] });
      if (replies.length === 0)
        throw new Discard(
          `bounce recorded (${events.map((e) => `${e.address} ${e.class}`).join(', ')})`,
        );
      return replies.map((r) => probe(list, mail.key, r.to, r.raw));
    },
  };
}

/** A notice whose envelope sender is the recipient's VERP address: it doubles as a probe. */
function probe(list: ListSettings, key: string, to: string, raw: Buffer): ListMail {
  const mail = replyMail(list, key, to, raw);
  mail.ml_sender = verpAddress(bounceAddress(list), to);
  return mail;
}
