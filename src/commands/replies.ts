/**
 * The mail a request produces, as ListMails for the distributors: one mail per recipient
 * (a confirmation keeps its "confirm TOKEN" subject so that a reply confirms), from the
 * list's request address, marked Auto-Submitted: auto-replied (RFC 3834). Each gets a key
 * derived from the command mail's key and the recipient, so a replay never sends it twice.
 */
import { createHash } from 'node:crypto';
import { bounceAddress, requestAddress } from '../list/addresses.ts';
import type { ListSettings } from '../list/settings.ts';
import { formatMailbox, normalizeAddress } from '../mail/address.ts';
import { createListMail } from '../mail/list-mail.ts';
import { composeNotice } from '../notices/compose.ts';
import type { ListMail } from '../types.ts';
import type { OutgoingText } from './confirm-handlers.ts';

/** Merges the texts for one recipient: a single confirmation keeps its subject. */
export function groupByRecipient(
  texts: readonly OutgoingText[],
  fallbackSubject: string,
): Array<{ to: string; subject: string; text: string }> {
  const groups = new Map<string, OutgoingText[]>();
  for (const t of texts) {
    const to = normalizeAddress(t.to);
    if (!to) continue;
    groups.set(to, [...(groups.get(to) ?? []), t]);
  }
  return [...groups].map(([to, group]) => {
    const confirmations = group.filter((t) => t.confirmation);
    const first =
      confirmations.length === 1
        ? confirmations[0]!
        : confirmations.length === 0
          ? group[0]!
          : undefined;
    const ordered = first ? [first, ...group.filter((t) => t !== first)] : group;
    return {
      to,
      subject: first?.subject ?? fallbackSubject,
      text: ordered.map((t) => t.text.trimEnd()).join('\n\n-- \n\n') + '\n',
    };
  });
}

/** The stable key of the reply to `to` for the command mail `commandKey`. */
export function replyKey(commandKey: string, to: string): string {
  return createHash('sha256').update(`${commandKey}:reply:${to}`).digest('hex');
}

/** Builds a ListMail from stored reply bytes. */
export function replyMail(
  list: ListSettings,
  commandKey: string,
  to: string,
  raw: Buffer,
): ListMail {
  const key = replyKey(commandKey, to);
  return {
    ...createListMail(raw, { fetcher: 'malist', id: `reply:${key}` }),
    key,
    ml_list: formatMailbox(list.display_name ?? list.name, list.address),
    ml_list_name: list.name,
    ml_sender: bounceAddress(list),
    ml_send_to: [to],
  };
}

/** Composes the reply bytes for each recipient. */
export async function composeReplies(
  list: ListSettings,
  about: ListMail,
  texts: readonly OutgoingText[],
  fallbackSubject: string,
): Promise<Array<{ to: string; raw: Buffer }>> {
  const from = formatMailbox(`${list.display_name ?? list.name} requests`, requestAddress(list));
  const out: Array<{ to: string; raw: Buffer }> = [];
  for (const group of groupByRecipient(texts, fallbackSubject)) {
    const notice = await composeNotice({
      envelopeFrom: bounceAddress(list),
      from,
      to: group.to,
      replyTo: requestAddress(list),
      subject: group.subject,
      text: group.text,
      autoSubmitted: 'auto-replied',
      about,
      headers: { 'List-Id': `<${list.address.replace('@', '.')}>` },
    });
    out.push({ to: group.to, raw: notice.raw });
  }
  return out;
}
