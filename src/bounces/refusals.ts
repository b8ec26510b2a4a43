/**
 * What delivery itself says about members, around any distributor: a recipient reported
 * `delivered` goes into the sent index (sent-index.ts: the proof a later report at the
 * plain bounce address needs), and one reported `failed` (a 5xx from the list's own mail
 * server, or a final refusal) is a bounce, counted like a proven report (record.ts): at
 * the threshold the member is probed, and set to nomail only when the probe is refused or
 * bounces too; then the member and the owners are told, with the evidence. The key (post
 * key + recipient) makes a replayed delivery count once.
 */
import type { ListSettings } from '../list/settings.ts';
import { replyText } from '../mail/smtp-reply.ts';
import type { MemberStore } from '../members/store.ts';
import { NoticeRefused, type NoticeSender } from '../notices/compose.ts';
import type { DeliveryReport, Distributor, ListMail } from '../types.ts';
import { type BounceTemplates, bounceMails } from './notices.ts';
import { type BounceEvent, type BounceOutcome, recordBounce } from './record.ts';
import type { BounceScoreOptions } from './score.ts';
import { bounceClass } from './severity.ts';
import { type BounceStorage, fileBounceStorage, type SentLog } from './store.ts';

export interface RefusalListOptions extends BounceScoreOptions {
  list: ListSettings;
  store: MemberStore;
  state_dir: string;
  templates?: BounceTemplates;
  /** Who hears of members set to nomail. @default the list's moderators */
  owners?: string[];
}

export interface RefusalRecordingOptions {
  /** The lists whose members are scored, by list name (`mail.ml_list_name`). */
  lists: Record<string, RefusalListOptions>;
  /** The installation secret (probes carry a VERP cookie made with it). */
  secret: Buffer;
  /** Sends the probe and the notices. Without it, refusals are only scored. */
  send?: NoticeSender;
  /** Where bounce records and the sent index live. @default the files under each list's state_dir */
  bounces?: BounceStorage;
  /** Told of recording errors (never fails the delivery). */
  log?: (line: string) => void;
  now?: () => number;
}

/** One refusal as the queue or a distributor reports it. */
export interface Refusal {
  list: string;
  recipient: string;
  /** The ListMail key of what was refused (a post, a probe). */
  mailKey: string;
  code?: number;
  text?: string;
}

/** Sends what an outcome calls for; a probe refused at once is the probe's bounce. */
async function follow(
  options: RefusalRecordingOptions,
  target: RefusalListOptions,
  outcome: BounceOutcome,
  key: string,
  diagnostic: string,
): Promise<void> {
  const send = options.send;
  if (!send) return;
  const mails = await bounceMails(target.list, options.secret, outcome, {
    key,
    diagnostic,
    ...(target.templates ? { templates: target.templates } : {}),
    ...(target.owners ? { owners: target.owners } : {}),
  });
  for (const mail of mails) {
    try {
      await send(mail);
    } catch (error) {
      if (!(error instanceof NoticeRefused)) throw error;
      // The member's own notice may well be refused: their address is why it is sent.
      if (outcome.result !== 'probe') {
        options.log?.(error.message);
        continue;
      }
      await recordRefusal(options, {
        list: target.list.name,
        recipient: mail.to,
        mailKey: mail.key,
        code: error.code ?? 550,
        text: error.response,
      });
    }
  }
}

/** Records one refusal; exported for the queue runner's later 5xx answers. */
export async function recordRefusal(
  options: RefusalRecordingOptions,
  refusal: Refusal,
): Promise<void> {
  // The code once: most transports' response text starts with it already.
  const diagnostic = replyText(refusal.code, refusal.text);
  const code = refusal.code ?? 550;
  await recordListBounce(options, refusal.list, {
    address: refusal.recipient,
    class: code >= 500 ? bounceClass('', diagnostic || String(code)) : 'soft',
    action: 'failed',
    key: `${refusal.mailKey}:${refusal.recipient}`,
    diagnostic: diagnostic || 'refused',
    source: 'refusal',
    probe: { key: refusal.mailKey },
  });
}

/**
 * Scores one bounce of a member of `list` and sends what it calls for (the probe, the
 * notices): a refusal at delivery, or a sending service's bounce report (bounces/feedback.ts).
 */
export async function recordListBounce(
  options: RefusalRecordingOptions,
  list: string,
  event: BounceEvent,
): Promise<BounceOutcome | undefined> {
  const target = options.lists[list];
  if (!target) return undefined;
  const outcome = await recordBounce(
    event,
    target.store,
    (options.bounces ?? fileBounceStorage(target.state_dir)).records(list),
    target,
    (options.now ?? Date.now)(),
  );
  await follow(options, target, outcome, event.key, event.diagnostic ?? '');
  return outcome;
}

/** Records who a report says took the post (the sent index), and who refused it. */
async function recordReport(
  options: RefusalRecordingOptions,
  mail: ListMail,
  report: DeliveryReport,
  index: SentLog,
): Promise<void> {
  const list = mail.ml_list_name;
  if (!list || !options.lists[list]) return;
  const id = mail.header.get('Message-ID');
  const delivered = report.results.filter((r) => r.status === 'delivered').map((r) => r.recipient);
  if (id && delivered.length > 0)
    await index.record(list, id, delivered, (options.now ?? Date.now)());
  for (const r of report.results) {
    if (r.status !== 'failed') continue;
    await recordRefusal(options, {
      list,
      recipient: r.recipient,
      mailKey: mail.key,
      ...(r.code !== undefined ? { code: r.code } : {}),
      ...(r.response !== undefined ? { text: r.response } : {}),
    }).catch((error: Error) =>
      options.log?.(`bounce record for ${r.recipient} failed: ${error.message}`),
    );
  }
}

/** `inner`, with what it reports recorded: deliveries in the sent index, refusals as bounces. */
export function withRefusalRecording(
  inner: Distributor,
  options: RefusalRecordingOptions & { state_dir: string },
): Distributor {
  const index = (options.bounces ?? fileBounceStorage(options.state_dir)).sent;
  return {
    name: inner.name,
    async distribute(mail: ListMail): Promise<DeliveryReport> {
      const report = await inner.distribute(mail);
      await recordReport(options, mail, report, index).catch((error: Error) =>
        options.log?.(`delivery record of ${mail.key} failed: ${error.message}`),
      );
      return report;
    },
    ...(inner.close ? { close: () => inner.close!() } : {}),
  };
}
