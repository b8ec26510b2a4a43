/**
 * What the sending services report after delivery (SES through SNS, Mailgun's webhooks;
 * verified and parsed in web/feedback/), fed into the list's own records:
 *
 * - a bounce is scored like a DSN (record.ts): permanent is hard, transient soft; at the
 *   threshold the member is probed, and set to nomail only when the probe bounces too. The
 *   key is the service's event id, so a replayed event counts once.
 * - a complaint is counted in the list's complaint record (complaints.ts) once per event
 *   id; the member is unsubscribed (unless `unsubscribe: false`: then set to nomail) and
 *   the owners are told, with the day's complaint rate.
 *
 * Which list: the one whose sent index says it delivered that Message-ID to that address
 * (a report names the message it is about; the address may have left since), or, for a
 * probe's bounce, the list whose probe in flight has that Message-ID (probeMessageId);
 * without a Message-ID, the one list the address is a member of. Anything else is ignored (and said so), never guessed.
 */
import { bounceAddress, requestAddress } from '../list/addresses.ts';
import type { ListSettings } from '../list/settings.ts';
import { formatMailbox } from '../mail/address.ts';
import { isoDay } from '../mail/iso-time.ts';
import { composeNotice, type NoticeSender } from '../notices/compose.ts';
import { complaintRate, percent } from './complaints.ts';
import { probeNonceOf } from './notices.ts';
import type { BounceOutcome } from './record.ts';
import { type RefusalRecordingOptions, recordListBounce } from './refusals.ts';
import { type BounceStorage, fileBounceStorage, type SentLog } from './store.ts';

/** One recipient's report from a service, after its signature was checked. */
export interface FeedbackEvent {
  service: 'ses' | 'mailgun';
  /** The service's event id (SES feedbackId, Mailgun's event id); the replay memo's key. */
  id: string;
  type: 'bounce' | 'complaint';
  recipient: string;
  /** Bounces: the service says the address will not take mail again. */
  permanent?: boolean;
  /** The remote server's words, or the complaint's feedback type. */
  diagnostic: string;
  /** The Message-ID of the mail reported on, when the report has it. */
  messageId?: string;
}

export interface ComplaintSettings {
  /** Unsubscribe a member who complains (else set nomail). @default true */
  unsubscribe?: boolean;
  /** The day's rate past which `malist complaints` and the owners' notice warn. @default 0.001 */
  warn_rate?: number;
  /** The day's rate past which new posts are held. @default none */
  hold_rate?: number;
}

export interface FeedbackOptions extends RefusalRecordingOptions {
  state_dir: string;
  complaints?: ComplaintSettings;
}

export interface FeedbackResult {
  list?: string;
  result: BounceOutcome['result'] | 'counted' | 'repeat' | 'no-list';
  /** A complaint: the list's rate today after it. */
  rate?: number;
}

/** Where the installation's bounce state lives (the files under state_dir by default). */
function storageOf(options: FeedbackOptions): BounceStorage {
  return options.bounces ?? fileBounceStorage(options.state_dir);
}

/** The list `event` is about (see the head comment), or undefined. */
async function listOf(
  options: FeedbackOptions,
  index: SentLog,
  event: FeedbackEvent,
  now: number,
): Promise<string | undefined> {
  // The sent index proves it even for one who has left since (a complaint still counts).
  if (event.messageId) {
    for (const name of Object.keys(options.lists))
      if (await index.has(name, [event.messageId], event.recipient, now)) return name;
    return undefined;
  }
  const memberOf: string[] = [];
  for (const [name, target] of Object.entries(options.lists))
    if (await target.store.get(event.recipient)) memberOf.push(name);
  return memberOf.length === 1 ? memberOf[0] : undefined;
}

export { percent };

async function tellOwners(
  list: ListSettings,
  owners: string[],
  send: NoticeSender,
  event: FeedbackEvent,
  removed: boolean,
  rate: number,
  warnRate: number,
): Promise<void> {
  const warn =
    rate > warnRate
      ? `\nThat is above ${percent(warnRate)}: mailbox providers refuse bulk mail from senders whose complaint rate stays there (Gmail's ceiling is 0.3%).\n`
      : '';
  for (const to of owners)
    await send({
      ...(await composeNotice({
        envelopeFrom: bounceAddress(list),
        from: formatMailbox(list.display_name ?? list.name, requestAddress(list)),
        to,
        subject: `Spam complaint on ${list.display_name ?? list.name}`,
        text: [
          `${event.recipient} reported a post of ${list.address} as spam (${event.service}: ${event.diagnostic || 'abuse'}).`,
          removed
            ? 'They have been unsubscribed.'
            : 'They stay subscribed with delivery off (nomail).',
          `Today's complaint rate for the list: ${percent(rate)}.`,
          warn,
        ].join('\n'),
        autoSubmitted: 'auto-generated',
        headers: { 'List-Id': `<${list.address.replace('@', '.')}>` },
      })),
      list: list.name,
    });
}

async function complaint(
  options: FeedbackOptions,
  index: SentLog,
  list: string,
  event: FeedbackEvent,
  now: number,
): Promise<FeedbackResult> {
  const target = options.lists[list]!;
  const state = storageOf(options).complaints(list);
  const fresh = await state.add(
    { id: event.id, address: event.recipient, service: event.service, type: event.diagnostic },
    now,
  );
  if (!fresh) return { list, result: 'repeat' };
  const settings = options.complaints ?? {};
  const unsubscribe = settings.unsubscribe ?? true;
  const removed = unsubscribe
    ? await target.store.remove(event.recipient)
    : Boolean(await target.store.update(event.recipient, { nomail: true, nomail_reason: 'admin' }));
  const rate = complaintRate(
    (await state.read()).days[isoDay(now)] ?? 0,
    await index.deliveredOn(list, now),
  );
  const owners = target.owners ?? target.list.moderators ?? [];
  if (options.send && owners.length > 0)
    await tellOwners(
      target.list,
      owners,
      options.send,
      event,
      unsubscribe && removed,
      rate,
      settings.warn_rate ?? 0.001,
    ).catch((error: Error) => options.log?.(`complaint notice for ${list}: ${error.message}`));
  return { list, result: 'counted', rate };
}

/** The list whose probe in flight to the recipient the report is about (its Message-ID), if any. */
async function probedList(
  options: FeedbackOptions,
  event: FeedbackEvent,
): Promise<{ list: string; nonce: string } | undefined> {
  const nonce = event.messageId ? probeNonceOf(event.messageId) : undefined;
  if (!nonce) return undefined;
  for (const [name, target] of Object.entries(options.lists)) {
    const record = await (options.bounces ?? fileBounceStorage(target.state_dir))
      .records(name)
      .get(event.recipient);
    if (record?.probe?.nonce === nonce) return { list: name, nonce };
  }
  return undefined;
}

/** Records one verified report (see the head comment). */
export async function recordFeedback(
  options: FeedbackOptions,
  event: FeedbackEvent,
): Promise<FeedbackResult> {
  const now = (options.now ?? Date.now)();
  const index = storageOf(options).sent;
  // A bounce of a probe (sent as a notice: not in the sent index) names the probe's Message-ID.
  const probe = event.type === 'bounce' ? await probedList(options, event) : undefined;
  const list = probe?.list ?? (await listOf(options, index, event, now));
  if (!list) return { result: 'no-list' };
  if (event.type === 'complaint') return complaint(options, index, list, event, now);
  const outcome = await recordListBounce(options, list, {
    address: event.recipient,
    class: event.permanent ? 'hard' : 'soft',
    action: 'failed',
    key: `${event.service}:${event.id}:${event.recipient.toLowerCase()}`,
    diagnostic: event.diagnostic,
    source: 'feedback',
    ...(probe ? { probe: { nonce: probe.nonce } } : {}),
  });
  return { list, result: outcome?.result ?? 'no-list' };
}
