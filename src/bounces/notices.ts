/**
 * What the bounce machinery mails, wherever the bounce was learned (a report at the bounce
 * address, a 5xx at delivery): the probe to a member at the threshold (its envelope sender
 * the member's VERP address with the probe's own cookie), and, when the probe bounced too,
 * the notices to the member and to the owners, with the evidence (the last bounces counted,
 * how each was proven, what the servers said). Texts are overridable by key (`templates:`).
 */
import { bounceAddress, requestAddress } from '../list/addresses.ts';
import type { ListSettings } from '../list/settings.ts';
import { probeBounceAddress } from '../list/verp.ts';
import { formatMailbox } from '../mail/address.ts';
import { composeNotice, type Notice } from '../notices/compose.ts';
import { renderTemplate } from '../notices/templates.ts';
import { type BounceOutcome, derivedKey } from './record.ts';
import type { BounceEvidence } from './score.ts';

export const BOUNCE_TEMPLATES = {
  bounce_probe_subject: 'Is your address still working? ({list_name})',
  bounce_probe: `Mail from the {list_name} list ({list_address}) to {address} has bounced
{count} times lately. This message is a test: if you can read it, your address works and
you need do nothing.

The last error was:

    {diagnostic}

If this message bounces too, the list stops sending you posts (you stay a member).
`,
  bounce_disabled_subject: 'Your mail from the {list_name} list is stopped',
  bounce_disabled: `Mail from the {list_name} list ({list_address}) to {address} has bounced
too often, and a test message bounced too, so the list no longer sends you posts. You are
still a member.

What the mail servers said:

{evidence}

When your mailbox works again, send "set mail" to {request_address} to receive posts
again, or "unsubscribe" to leave.
`,
  bounce_owner_subject: '{address} set to nomail on {list_name} (bounces)',
  bounce_owner: `Mail to {address} on the {list_name} list bounced {count} times (score {score}),
and the probe sent at the threshold bounced too: the member is set to nomail.

The bounces counted (only bounces proven to be of this list's mail count: a VERP
address with a valid cookie, a report naming a Message-ID the list sent to the member,
or a refusal by the list's own mail server):

{evidence}
`,
} as const;

export type BounceTemplates = Partial<Record<string, string>>;

const SOURCES: Record<BounceEvidence['source'], string> = {
  verp: 'VERP cookie',
  'sent-index': 'report naming a post sent to them',
  refusal: 'refused at delivery',
  feedback: "the sending service's bounce report",
};

/** The evidence as lines for a notice: date, class, how it was proven, what was said. */
export function evidenceText(evidence: readonly BounceEvidence[]): string {
  if (evidence.length === 0) return '    (none kept)';
  return evidence
    .map((e) => {
      const when = new Date(e.at).toISOString().slice(0, 16).replace('T', ' ');
      const what = `${e.probe ? 'probe, ' : ''}${SOURCES[e.source]}`;
      return `    ${when} UTC  ${e.class}  (${what})\n        ${e.diagnostic || '(no diagnostic)'}`;
    })
    .join('\n');
}

/** A notice with what a list mail needs to be sent and replayed (its key, its list). */
export interface BounceMail extends Notice {
  key: string;
  list: string;
}

function variables(list: ListSettings, outcome: BounceOutcome, diagnostic: string) {
  const record = outcome.record;
  return {
    list_name: list.display_name ?? list.name,
    list_address: list.address,
    request_address: requestAddress(list),
    address: outcome.address,
    diagnostic: diagnostic || record?.last_diagnostic || 'unknown',
    count: String(record?.count ?? 0),
    score: (record?.score ?? 0).toFixed(1),
    evidence: evidenceText(record?.evidence ?? []),
  };
}

/**
 * The probe's Message-ID: a sending service's bounce report names the Message-ID of the mail
 * it is about, so a probe bounced by SES or Mailgun (no DSN to its VERP address) is known as
 * the probe's by its nonce (probeNonceOf).
 */
export function probeMessageId(list: ListSettings, nonce: string): string {
  return `<bounce-probe.${nonce}@${list.address.slice(list.address.lastIndexOf('@') + 1)}>`;
}

/** The nonce of a probe's Message-ID (probeMessageId), else undefined. */
export function probeNonceOf(messageId: string): string | undefined {
  return /^<?bounce-probe\.([0-9a-f]{16})@[^>]+>?$/.exec(messageId.trim())?.[1];
}

/**
 * The mail an outcome calls for: the probe (`probe`), or the member's and the owners'
 * notices (`disabled`); nothing for the rest. Keys derive from the probe's nonce or the
 * disabling bounce's key, so a replay makes the same ones.
 */
export async function bounceMails(
  list: ListSettings,
  secret: Buffer,
  outcome: BounceOutcome,
  options: { diagnostic?: string; key: string; owners?: string[]; templates?: BounceTemplates },
): Promise<BounceMail[]> {
  const vars = variables(list, outcome, options.diagnostic ?? '');
  const text = (key: keyof typeof BOUNCE_TEMPLATES) =>
    renderTemplate(options.templates?.[key] ?? BOUNCE_TEMPLATES[key], vars);
  const from = formatMailbox(list.display_name ?? list.name, requestAddress(list));
  const mail = async (
    to: string,
    envelopeFrom: string,
    subject: string,
    body: string,
    key: string,
    messageId?: string,
  ): Promise<BounceMail> => ({
    ...(await composeNotice({
      ...(messageId ? { messageId } : {}),
      envelopeFrom,
      from,
      to,
      subject,
      text: body,
      autoSubmitted: 'auto-generated',
      headers: { 'List-Id': `<${list.address.replace('@', '.')}>` },
    })),
    key,
    list: list.name,
  });
  if (outcome.result === 'probe' && outcome.probe) {
    const sender = probeBounceAddress(list, secret, outcome.address, outcome.probe.nonce);
    return [
      await mail(
        outcome.address,
        sender,
        text('bounce_probe_subject'),
        text('bounce_probe'),
        outcome.probe.key,
        probeMessageId(list, outcome.probe.nonce),
      ),
    ];
  }
  if (outcome.result !== 'disabled') return [];
  const owners = options.owners ?? list.moderators ?? [];
  const out = [
    await mail(
      outcome.address,
      bounceAddress(list),
      text('bounce_disabled_subject'),
      text('bounce_disabled'),
      derivedKey('bounce-disabled', options.key, outcome.address),
    ),
  ];
  for (const owner of owners)
    out.push(
      await mail(
        owner,
        bounceAddress(list),
        text('bounce_owner_subject'),
        text('bounce_owner'),
        derivedKey('bounce-owner', options.key, owner),
      ),
    );
  return out;
}
