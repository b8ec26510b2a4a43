/**
 * What a mail to the bounce address is: a bounce (which addresses, hard or soft, or only
 * delayed), or not a bounce (a vacation reply, a challenge-response robot, a read receipt,
 * an abuse report, a success report), or a mail that says nothing this parser can
 * attribute: an "unrecognised bounce", which the handler logs with its sender and subject
 * so the operator sees what is missed. A pure function of the bytes, in bounded time:
 * only the first SCAN_CAP bytes are read (scan.ts).
 *
 * Structure first: RFC 3464 reports at any depth (a delivery-status part inside
 * multipart/mixed, a report forwarded as message/rfc822), then the notice's text with
 * X-Failed-Recipients. Robots are recognised only by specific markers, and only when no
 * report names a recipient: real bounces say `Auto-Submitted: auto-replied` too.
 */
import { normalizeAddress, parseAddressList } from '../mail/address.ts';
import { isAutoReply, isChallenge } from '../mail/automated.ts';
import { HeaderBlock } from '../mail/header-block.ts';
import { type DsnRecipient, parseDeliveryStatus } from './dsn.ts';
import { type Part, rescueParts, returnedMessageIds, type Scanned, scanMail } from './scan.ts';
import {
  type BounceClass,
  bounceClass,
  classFromText,
  enhancedStatus,
  hasSignal,
} from './severity.ts';
import { noticeFormat, noticeLines, noticeOutlook, textRecipients } from './text-notice.ts';

export interface BouncedRecipient {
  /**
   * The address in normal form: the one the list sent to when the report says
   * (Original-Recipient, `expanded from`, `generated from`), else the failed one.
   */
  address: string;
  /** Other addresses of the same recipient (Final-Recipient, the alias target). */
  aliases: string[];
  class: BounceClass;
  /** `failed` or `delayed` (a delay warning, which counts nothing). */
  action: 'failed' | 'delayed';
  /** Enhanced status when known (`5.1.1`). */
  status: string;
  diagnostic: string;
}

export type NotBounceReason =
  | 'auto-reply'
  | 'challenge-response'
  | 'mdn'
  | 'feedback-report'
  | 'success-report'
  | 'unrecognised';

export type BounceVerdict =
  | {
      kind: 'bounce';
      format: string;
      recipients: BouncedRecipient[];
      /** Message-IDs of the message the report returns (for the sent index). */
      returned: string[];
    }
  | { kind: 'not-bounce'; reason: NotBounceReason };

/** message/delivery-status, its RFC 6533 form, and the x- spellings some gateways use. */
const isReport = (type: string) => /^message\/(x-?)?(global-)?delivery-status$/.test(type);
const DIAGNOSTIC_CAP = 1000;
const MTA_LOCAL =
  /^(mailer-?daemon|mail-?daemon|postmaster|mdaemon|ndr|bounces?|mail\.delivery\.system|microsoftexchange[0-9a-f]*|e500_smtp_mail_service|.*mailer-daemon.*)$/i;
const MTA_NAME =
  /(mail delivery|delivery (subsystem|system|service)|mail administrator|system administrator|postmaster|mailer[- ]daemon|mail system|microsoft outlook|jetmail|lsmtp|mailserver|mail server)/i;
const BOUNCE_SUBJECT =
  /(undeliver|undelivered|returned mail|returning message|delivery (status|failure|failed|notification|problem|report|error)|failure (notice|delivery)|mail delivery|could not be delivered|non-?delivery|not delivered|delivery has failed|mail error|mail system error|processing error|failed mail|nameserver error|permanent delivery failure|message status|delivery (delayed|warning)|delayed mail|warning: message|user unknown|mail could not|mail failed|rejected mail|email delivery failure|nicht zustellbar|non recens|non remis|no entregado|niedostarczon)/i;
const FAILURE_PHRASE =
  /(could not be delivered|couldn't be delivered|was not delivered|wasn't delivered|not be delivered|undeliverable|delivery (to the following recipients? )?(has )?failed|failed permanently|unable to deliver|wasn't able to deliver|not able to deliver|did not reach|delivery is delayed|has not yet been delivered|n'a pas pu|could not deliver|cannot be delivered|permanent fatal errors|address(es)? failed|mail delivery failed)/i;

interface Context {
  scanned: Scanned;
  subject: string;
  fromMta: boolean;
  /** The bounce's own addresses (sender, recipient): never a failed recipient. */
  own: Set<string>;
}

function cap(text: string): string {
  return text.length > DIAGNOSTIC_CAP ? text.slice(0, DIAGNOSTIC_CAP) : text;
}

function contextOf(raw: Buffer): Context {
  const scanned = scanMail(raw);
  const h = scanned.headers;
  const end = scanned.lines.findIndex((l) => l.trim() === '');
  const headerText = scanned.lines.slice(0, end < 0 ? scanned.lines.length : end).join('\n');
  const subject = (
    HeaderBlock.parse(Buffer.from(`${headerText}\n\n`, 'latin1')).header.getDecoded('Subject') ?? ''
  ).slice(0, 500);
  const senders = [...parseAddressList(h['from']), ...parseAddressList(h['sender'])];
  const fromMta =
    /^<\s*>$/.test((h['from'] ?? '').trim()) ||
    senders.some((s) => MTA_LOCAL.test(s.address.split('@')[0] ?? '')) ||
    MTA_NAME.test(h['from'] ?? '');
  const own = new Set<string>();
  for (const field of ['from', 'to', 'return-path', 'sender', 'reply-to'])
    for (const m of parseAddressList(h[field])) {
      const a = normalizeAddress(m.address);
      if (a) own.add(a);
    }
  return { scanned, subject, fromMta, own };
}

/** The failed and delayed recipients of the DSN parts nearest the top. */
function fromReports(ctx: Context, notice: string): BouncedRecipient[] | 'success' | undefined {
  const { parts, lines } = ctx.scanned;
  let reports = parts.filter((p) => isReport(p.type));
  if (reports.length === 0) reports = rescueParts(lines, 'message/delivery-status');
  if (reports.length === 0) return undefined;
  const top = Math.min(...reports.map((p) => p.nested));
  const entries = reports
    .filter((p) => p.nested === top)
    .flatMap((p) => parseDeliveryStatus(p.body));
  if (entries.length === 0) return undefined;
  const out: BouncedRecipient[] = [];
  for (const e of entries) {
    const r = fromDsnEntry(e, notice);
    if (!r || out.some((o) => o.address === r.address)) continue;
    out.push(r);
  }
  if (out.length > 0) return out;
  return entries.every((e) => /^(delivered|relayed|expanded)$/.test(e.action))
    ? 'success'
    : undefined;
}

function fromDsnEntry(e: DsnRecipient, notice: string): BouncedRecipient | undefined {
  const address = e.original || e.final;
  const klass = /^\s*([245])/.exec(e.status)?.[1];
  const action =
    e.action === 'failed' || e.action === 'delayed'
      ? e.action
      : e.action === '' && klass
        ? klass === '4'
          ? 'delayed'
          : klass === '5'
            ? 'failed'
            : undefined
        : undefined;
  if (!action || !address) return undefined;
  // No diagnostic in the report: the notice's text about this address says why.
  const diagnostic = cap(e.diagnostic || reasonInNotice(notice, [e.final, e.original]) || e.status);
  return {
    address,
    aliases: e.original && e.final && e.final !== e.original ? [e.final] : [],
    action,
    status: /([245]\.\d{1,3}\.\d{1,3})/.exec(e.status)?.[1] ?? '',
    diagnostic,
    class: bounceClass(e.status, diagnostic, action),
  };
}

function reasonInNotice(notice: string, addresses: readonly string[]): string {
  const lines = noticeLines(notice);
  for (const r of textRecipients(lines, new Set())) {
    if (addresses.includes(r.address) || r.aliases.some((a) => addresses.includes(a)))
      return r.diagnostic;
  }
  return '';
}

/** The notice text: the top-level text parts (HTML stripped when there is no plain text). */
function noticeText(parts: readonly Part[]): string {
  const texts = parts.filter((p) => p.nested === 0 && p.type === 'text/plain').map((p) => p.body);
  if (texts.length > 0) return texts.join('\n').slice(0, 64 * 1024);
  const html = parts.find((p) => p.nested === 0 && p.type === 'text/html');
  if (!html) return '';
  return html.body
    .slice(0, 64 * 1024)
    .replace(/<br\s*\/?>|<\/(p|div|tr|li|h\d)>/gi, '\n')
    .replace(/<[^>]{0,2000}>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** Recipients from the notice's text and X-Failed-Recipients. */
function fromText(ctx: Context, notice: string): BouncedRecipient[] {
  const lines = noticeLines(notice);
  const found = textRecipients(lines, ctx.own);
  for (const a of (ctx.scanned.headers['x-failed-recipients'] ?? '').split(/[,\s]+/)) {
    const address = normalizeAddress(a);
    if (!address || found.some((f) => f.address === address || f.aliases.includes(address)))
      continue;
    found.push({ address, aliases: [], diagnostic: cap(lines.join(' ').replace(/\s+/g, ' ')) });
  }
  const outlook = noticeOutlook(ctx.subject, notice);
  const permanent =
    outlook === 'failed' ? true : /temporar|transient/i.test(notice) ? false : undefined;
  const whole = lines.join(' ').replace(/\s+/g, ' ');
  return found.map((f) => {
    const action = outlook === 'retry' ? 'delayed' : 'failed';
    // sendmail's "(reason: …)" is the remote answer; its transcript adds its own guesses.
    const own = /\(reason: ([^)]*)\)/i.exec(f.diagnostic)?.[1] ?? f.diagnostic;
    // A recipient listed without a reason takes the notice's (one reason for a list).
    const diagnostic = hasSignal(own) ? own : `${own} ${whole}`;
    const status = enhancedStatus(diagnostic);
    return {
      address: f.address,
      aliases: f.aliases,
      action,
      status,
      diagnostic: cap(diagnostic),
      class: bounceClass(status, diagnostic, action, permanent),
    };
  });
}

const RETURNED_LIST_POST =
  /^[ \t]*(list-id|list-post|list-unsubscribe|x-beenthere|x-mailing-list|mailing-list)[ \t]*:|^[ \t]*delivered-to:[ \t]*mm\+/im;
const RETURNED_RECIPIENT =
  /^\s*(to|envelope-to|x-envelope-to|x-original-to|original-recipient)\s*:\s*(.*)$/i;

/**
 * The last resort of a failure notice that names no recipient in its text (Yahoo's "I'm
 * afraid I wasn't able to deliver the following message" with only the copy's `To:`): the
 * one recipient the returned message was addressed to, when it names exactly one that is
 * not the bounce's own. Never from a returned list post (List-Id, List-Post, X-BeenThere,
 * Delivered-To a list): its `To:` and `Cc:` name the list and the posters, not the member.
 */
function fromReturnedMessage(ctx: Context, notice: string): BouncedRecipient[] {
  const found = new Set<string>();
  if (RETURNED_LIST_POST.test(ctx.scanned.lines.join('\n'))) return [];
  const texts = [
    notice,
    ...ctx.scanned.parts
      .filter((p) => p.nested > 0 || /rfc822-headers/.test(p.type))
      .map(
        (p) =>
          `${Object.entries(p.headers)
            .map(([k, v]) => `${k}: ${v}`)
            .join('\n')}\n${p.type.includes('headers') ? p.body : ''}`,
      ),
  ];
  for (const text of texts)
    for (const line of text.split('\n').slice(0, 2000)) {
      const m = RETURNED_RECIPIENT.exec(line);
      if (!m) continue;
      for (const a of parseAddressList(m[2]!.replace(/^rfc822;/i, ''))) {
        const address = normalizeAddress(a.address);
        if (address && !ctx.own.has(address)) found.add(address);
      }
    }
  if (found.size !== 1) return [];
  const [address] = [...found] as [string];
  const diagnostic = cap(noticeLines(notice).join(' ').replace(/\s+/g, ' ').trim());
  const status = enhancedStatus(diagnostic);
  return [
    {
      address,
      aliases: [],
      action: noticeOutlook(ctx.subject, notice) === 'retry' ? 'delayed' : 'failed',
      status,
      diagnostic,
      class: bounceClass(status, diagnostic),
    },
  ];
}

/** A read receipt that reports a rejection (Dovecot's "automatically rejected"). */
function rejectionMdn(ctx: Context, notice: string): BouncedRecipient[] {
  const mdn = ctx.scanned.parts.find((p) => p.type === 'message/disposition-notification');
  if (
    !mdn ||
    !/;\s*(deleted|denied|failed)/i.test(mdn.body) ||
    !/reject/i.test(notice + ctx.subject)
  )
    return [];
  const final = /^final-recipient:\s*(?:rfc822;)?\s*<?([^\s<>]+@[^\s<>]+)>?/im.exec(mdn.body);
  const address = normalizeAddress(final?.[1] ?? '');
  if (!address) return [];
  const diagnostic = cap(notice.replace(/\s+/g, ' ').trim());
  return [
    {
      address,
      aliases: [],
      action: 'failed',
      status: '',
      diagnostic,
      class: classFromText(diagnostic),
    },
  ];
}

/** Classifies a mail that arrived at a bounce address. */
export function classifyBounce(raw: Buffer): BounceVerdict {
  const ctx = contextOf(raw);
  const contentType = (ctx.scanned.headers['content-type'] ?? '').toLowerCase();
  const notice = noticeText(ctx.scanned.parts);
  const reportType = /report-type\s*=\s*"?([\w-]+)/.exec(contentType)?.[1] ?? '';
  if (reportType === 'feedback-report') return { kind: 'not-bounce', reason: 'feedback-report' };
  if (reportType === 'disposition-notification') {
    const rejected = rejectionMdn(ctx, notice);
    if (rejected.length > 0)
      return {
        kind: 'bounce',
        format: 'mdn-rejection',
        recipients: rejected,
        returned: returnedMessageIds(ctx.scanned),
      };
    return { kind: 'not-bounce', reason: 'mdn' };
  }
  if (isChallenge(ctx.scanned.headers, ctx.subject, notice, ctx.fromMta))
    return { kind: 'not-bounce', reason: 'challenge-response' };
  const reported = fromReports(ctx, notice);
  if (reported === 'success') return { kind: 'not-bounce', reason: 'success-report' };
  if (reported)
    return {
      kind: 'bounce',
      format: 'dsn',
      recipients: reported,
      returned: returnedMessageIds(ctx.scanned),
    };
  const looksLikeNotice =
    ctx.fromMta ||
    BOUNCE_SUBJECT.test(ctx.subject) ||
    FAILURE_PHRASE.test(notice.slice(0, 3000)) ||
    'x-failed-recipients' in ctx.scanned.headers;
  if (
    !ctx.fromMta &&
    !BOUNCE_SUBJECT.test(ctx.subject) &&
    isAutoReply(ctx.scanned.headers, ctx.subject, notice)
  )
    return { kind: 'not-bounce', reason: 'auto-reply' };
  if (looksLikeNotice) {
    const named = fromText(ctx, notice);
    const recipients = named.length > 0 ? named : fromReturnedMessage(ctx, notice);
    if (recipients.length > 0)
      return {
        kind: 'bounce',
        format: noticeFormat(notice),
        recipients,
        returned: returnedMessageIds(ctx.scanned),
      };
  }
  return { kind: 'not-bounce', reason: 'unrecognised' };
}

/** Every address a recipient is known by, the preferred first (for matching members). */
export function addressesOf(r: BouncedRecipient): string[] {
  return [r.address, ...r.aliases];
}
