/**
 * `sanity` — the first gate of a list: mail that is not a usable message is never
 * broadcast. A mail with no header block (a binary file, a transcript, one stray byte), no
 * usable From, NUL bytes or bare-CR line ends in its header, nothing in it at all, or a
 * header that runs straight into a MIME boundary is held for a moderator with the reason
 * (or, with `action: reject`, refused with a notice when a real person sent it). It is a
 * decision, not a crash: nothing of it is quarantined.
 *
 * Every post that passes (or that a moderator released) carries a Message-ID and a Date:
 * added when missing, and said in the delivery log. The Message-ID is made from the mail's
 * key and the Date from its topmost Received field (the time of the run without one), so a
 * post handled again after a crash gets the same ones.
 */
import { z } from 'zod';
import { Hold, Reject } from '../errors.ts';
import type { ListSettings } from '../list/settings.ts';
import { normalizeAddress, parseAddressList } from '../mail/address.ts';
import { isAutomated } from '../mail/automated.ts';
import { lazySchema } from '../mail/deferred-option.ts';
import type { ListMail, Processor } from '../types.ts';

export interface SanityOptions {
  /**
   * Malformed mail is held for a moderator (`hold`), or refused with a notice to its
   * sender (`reject`: held instead when the sender is a robot or has no usable address).
   * @default 'hold'
   */
  action?: 'hold' | 'reject';
}

/** Why `mail` is not a message a list can send on, or undefined. Pure. */
export function malformedReason(mail: ListMail): string | undefined {
  const h = mail.header;
  if (h.fields.length === 0)
    return 'it has no header block (it starts with text or binary data, not header fields)';
  if (h.fields.some((f) => f.raw.includes(0))) return 'its header contains NUL bytes';
  if (h.bareCr) return 'its header has bare CR line ends (a CR without LF)';
  if (h.ending === 'body-line' && mail.body[0] === 0x2d && mail.body[1] === 0x2d)
    return 'its header runs into a MIME boundary without the blank line that ends a header';
  const from = h.get('From');
  if (from === undefined) return 'it has no From field';
  if (!parseAddressList(from).some((m) => normalizeAddress(m.address) !== ''))
    return `its From field has no usable address (${JSON.stringify(from.slice(0, 80))})`;
  const subject = h.getDecoded('Subject')?.trim() ?? '';
  if (subject === '' && !/[^\s]/.test(mail.body.subarray(0, 64 * 1024).toString('latin1')))
    return 'it is empty (no subject and no text)';
  return undefined;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = 'Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec'.split(' ');

/** An RFC 5322 date-time in UTC: `Tue, 05 Jan 2027 09:08:07 +0000`. */
export function rfc5322Date(date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${DAYS[date.getUTCDay()]}, ${two(date.getUTCDate())} ${MONTHS[date.getUTCMonth()]} ` +
    `${date.getUTCFullYear()} ${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:` +
    `${two(date.getUTCSeconds())} +0000`
  );
}

/**
 * When the mail reached the last MTA, from its topmost Received field: a Date made from it
 * is the same each time the mail is handled (a replay after a crash sends the same bytes).
 */
function arrival(mail: ListMail): Date | undefined {
  const received = mail.header.get('Received');
  const stamp = received?.slice(received.lastIndexOf(';') + 1).trim();
  const ms = stamp ? Date.parse(stamp.replace(/\s*\([^)]*\)\s*$/, '')) : Number.NaN;
  return Number.isFinite(ms) ? new Date(ms) : undefined;
}

/** Adds a Message-ID and a Date when the mail has none (or an empty one); notes each. */
export function ensureIdentity(list: ListSettings, mail: ListMail, now = new Date()): void {
  const id = mail.header.get('Message-ID') ?? '';
  if (!/[^\s<>]@[^\s<>]/.test(id)) {
    const domain = list.address.slice(list.address.lastIndexOf('@') + 1);
    const made = `<${mail.key.slice(0, 32)}.malist@${domain}>`;
    mail.header.set('Message-ID', made);
    mail.ml_notes = [...(mail.ml_notes ?? []), `added Message-ID ${made}`];
  }
  if ((mail.header.get('Date') ?? '').trim() === '') {
    const date = rfc5322Date(arrival(mail) ?? now);
    mail.header.set('Date', date);
    mail.ml_notes = [...(mail.ml_notes ?? []), `added Date ${date}`];
  }
}

/** The options of `type: sanity` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = lazySchema(() =>
  z.strictObject({ action: z.enum(['hold', 'reject']).optional() }),
);

export default function createSanity(list: ListSettings, options: SanityOptions = {}): Processor {
  return {
    name: 'sanity',
    async process(mail) {
      const reason = mail.ml_approved ? undefined : malformedReason(mail);
      if (reason) {
        const text = `malformed mail, not sent to ${list.address}: ${reason}`;
        const realSender =
          parseAddressList(mail.header.get('From')).some((m) => normalizeAddress(m.address)) &&
          !isAutomated(mail);
        throw options.action === 'reject' && realSender ? new Reject(text) : new Hold(text);
      }
      ensureIdentity(list, mail);
      return mail;
    },
  };
}
