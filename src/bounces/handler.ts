/**
 * The bounce handler: mail to LIST-bounces@ and its VERP forms. Only a bounce that is
 * proven to be of this list's mail to a member counts, so a forger cannot drive anyone to
 * nomail:
 *
 * - at a VERP address, the cookie must be one this list made for that member (a post's,
 *   or the probe in flight's: verp-check.ts); the member is then the one the address
 *   names, whatever the report says or fails to say;
 * - at the plain address, a recipient the report names counts only when the message it
 *   returns carries a Message-ID this list delivered to that member lately (sent-index.ts).
 *
 * Anything else is logged (the signal's reason) and counts for nothing. At the threshold
 * the member is probed (record.ts), and set to nomail only when the probe bounces too;
 * then the member and the owners get the notices with the evidence (notices.ts).
 * Auto-replies and other robots never count.
 *
 * Returns the mail to send as ListMails (keys derived from the bounce's, replies recorded
 * before returning so a replay sends the same ones), or Discard when there is none.
 */
import { join } from 'node:path';
import { type MemoStore, RequestMemoStore } from '../commands/memo.ts';
import { Discard } from '../errors.ts';
import type { ListSettings } from '../list/settings.ts';
import { formatMailbox } from '../mail/address.ts';
import { createListMail } from '../mail/list-mail.ts';
import type { VerpParts } from '../mail/verp.ts';
import type { MemberStore } from '../members/store.ts';
import type { ListMail } from '../types.ts';
import {
  addressesOf,
  type BouncedRecipient,
  type BounceVerdict,
  classifyBounce,
} from './classify.ts';
import { type BounceMail, type BounceTemplates, bounceMails } from './notices.ts';
import { type BounceEvent, recordBounce } from './record.ts';
import type { BounceScoreOptions } from './score.ts';
import { type BounceStorage, fileBounceStorage } from './store.ts';
import { proveVerp } from './verp-check.ts';

export { BOUNCE_TEMPLATES } from './notices.ts';

export interface BounceHandlerOptions extends BounceScoreOptions {
  store: MemberStore;
  /** Replay memos live here (`STATE/requests`), and on files the bounce state (`STATE/bounces`). */
  state_dir: string;
  /** Where bounce records and the sent index live. @default the files under state_dir */
  storage?: BounceStorage;
  /** The installation secret: VERP cookies are checked and probes made with it. */
  secret: Buffer;
  /** Who hears of members set to nomail. @default the list's moderators */
  owners?: string[];
  /** Text overrides (notices.ts BOUNCE_TEMPLATES keys). */
  templates?: BounceTemplates;
  /** Replay memos, as the composition root keeps them (`storage:`). @default STATE/requests */
  memos?: MemoStore;
  /** The clock. @default Date.now */
  now?: () => number;
}

export interface BounceHandler {
  readonly name: 'bounces';
  /** `verp`: what the VERP bounce address says, when the mail came to one. */
  handle(mail: ListMail, verp?: VerpParts): Promise<ListMail[]>;
}

type Bounce = Extract<BounceVerdict, { kind: 'bounce' }>;

function worst(recipients: readonly BouncedRecipient[]): BouncedRecipient | undefined {
  return (
    recipients.find((r) => r.action === 'failed' && r.class === 'hard') ??
    recipients.find((r) => r.action === 'failed') ??
    recipients[0]
  );
}

function line(mail: ListMail, name: string): string {
  return (mail.header.getDecoded(name) ?? '').replace(/[\r\n\t]+/g, ' ').slice(0, 200);
}

/** Discard for what is no bounce; "unrecognised bounce" names sender and subject for the operator. */
function notABounce(mail: ListMail, verdict: Extract<BounceVerdict, { kind: 'not-bounce' }>) {
  if (verdict.reason === 'unrecognised')
    return new Discard(
      `unrecognised bounce from ${line(mail, 'From') || '(no From)'}: ${line(mail, 'Subject')}`,
    );
  return new Discard(`not a bounce (${verdict.reason})`);
}

/** The ListMail of a bounce notice or probe: one recipient, its own sender and key. */
function outgoing(list: ListSettings, m: { to: string; raw: Buffer; from?: string; key?: string }) {
  const mail = createListMail(m.raw, { fetcher: 'malist', id: `bounce:${m.key ?? m.to}` });
  return {
    ...mail,
    ...(m.key ? { key: m.key } : {}),
    ml_list: formatMailbox(list.display_name ?? list.name, list.address),
    ml_list_name: list.name,
    ...(m.from !== undefined ? { ml_sender: m.from } : {}),
    ml_send_to: [m.to],
  } satisfies ListMail;
}

export default function createBounceHandler(
  list: ListSettings,
  options: BounceHandlerOptions,
): BounceHandler {
  if (!options?.store || !options.state_dir || !options.secret)
    throw new Error(`bounce handler for ${list.name}: store, state_dir and secret are required`);
  const storage = options.storage ?? fileBounceStorage(options.state_dir);
  const state = storage.records(list.name);
  const sent = storage.sent;
  const memos = options.memos ?? new RequestMemoStore(join(options.state_dir, 'requests'));
  const now = options.now ?? Date.now;

  /** The events a VERP bounce proves: its member, with the report's reason when it has one. */
  async function viaVerp(mail: ListMail, verdict: BounceVerdict, verp: VerpParts, at: number) {
    const proof = await proveVerp(list, options.secret, verp, {
      store: options.store,
      state,
      now: at,
    });
    if ('refused' in proof)
      throw new Discard(
        `bounce not counted: ${proof.refused}${proof.claimed ? ` for ${proof.claimed}` : ''} (forged or stale)`,
      );
    if (verdict.kind === 'not-bounce' && verdict.reason !== 'unrecognised')
      throw notABounce(mail, verdict);
    const found =
      verdict.kind === 'bounce'
        ? (verdict.recipients.find((r) => addressesOf(r).includes(proof.member)) ??
          worst(verdict.recipients))
        : undefined;
    // An unreadable notice at a proven address is still a bounce of that member's mail.
    const event: BounceEvent = {
      address: proof.member,
      class: found?.class ?? 'soft',
      action: found?.action ?? 'failed',
      key: mail.key,
      diagnostic: found?.diagnostic || `unreadable notice: ${line(mail, 'Subject')}`,
      source: 'verp',
      ...(proof.probeNonce ? { probe: { nonce: proof.probeNonce } } : {}),
    };
    return { events: [event], ignored: [] as string[] };
  }

  /** The events a report at the plain address proves through the sent index. */
  async function viaSentIndex(mail: ListMail, verdict: Bounce, at: number) {
    const events: BounceEvent[] = [];
    const ignored: string[] = [];
    for (const r of verdict.recipients) {
      let member: string | undefined;
      for (const a of addressesOf(r))
        if (await options.store.get(a)) {
          member = a;
          break;
        }
      if (!member) {
        ignored.push(`${r.address} (not a member)`);
        continue;
      }
      if (!(await sent.has(list.name, verdict.returned, member, at))) {
        ignored.push(`${member} (no VERP cookie, and no Message-ID this list sent them)`);
        continue;
      }
      events.push({
        address: member,
        class: r.class,
        action: r.action,
        key: `${mail.key}:${member}`,
        diagnostic: r.diagnostic || r.status,
        source: 'sent-index',
      });
    }
    return { events, ignored };
  }

  return {
    name: 'bounces',
    async handle(mail, verp) {
      const memo = await memos.get(`${list.name}.bounces`, mail.key);
      if (memo?.replies.length === 0) throw new Discard('bounce already recorded');
      if (memo) return memo.replies.map((r) => outgoing(list, r));
      const verdict = classifyBounce(mail.raw);
      const at = now();
      if (!verp && verdict.kind === 'not-bounce') throw notABounce(mail, verdict);
      const { events, ignored } = verp
        ? await viaVerp(mail, verdict, verp, at)
        : await viaSentIndex(mail, verdict as Bounce, at);
      const mails: BounceMail[] = [];
      const counted: string[] = [];
      for (const event of events) {
        const outcome = await recordBounce(event, options.store, state, options, at);
        if (outcome.result === 'not-member') ignored.push(`${event.address} (not a member)`);
        else
          counted.push(
            `${outcome.address} ${event.class}${outcome.result === 'scored' || outcome.result === 'repeat' ? '' : `, ${outcome.result}`}`,
          );
        mails.push(
          ...(await bounceMails(list, options.secret, outcome, {
            key: mail.key,
            ...(event.diagnostic ? { diagnostic: event.diagnostic } : {}),
            ...(options.owners ? { owners: options.owners } : {}),
            ...(options.templates ? { templates: options.templates } : {}),
          })),
        );
      }
      const replies = mails.map((m) => ({ to: m.to, raw: m.raw, from: m.from, key: m.key }));
      await memos.put(`${list.name}.bounces`, mail.key, { replies, consume: [] });
      if (replies.length > 0) return replies.map((r) => outgoing(list, r));
      const said = [
        ...(counted.length ? [`bounce recorded (${counted.join(', ')})`] : []),
        ...(ignored.length ? [`bounce not counted: ${ignored.join(', ')}`] : []),
      ];
      throw new Discard(said.join('; ') || 'bounce naming no recipient');
    },
  };
}
