/**
 * Is this mail from a machine? RFC 3834 says never to answer automated mail, and a list
 * that answers an auto-reply with a rejection that gets auto-replied to is a loop. Every
 * notice malist sends asks this first; the loop guard reuses it.
 */
import { parseAddressList } from '../mail/address.ts';
import type { ListMail } from '../types.ts';

/** Local parts of addresses that are robots or other lists' machinery by convention. */
const ROBOT_LOCAL =
  /^(mailer-daemon|postmaster-daemon|majordomo|listserv|no-?reply|do-?not-?reply|bounces?|owner-.+|.+-(request|owner|bounces?|admin))$/i;

/** The first token of a field, without comments or parameters, lower case. */
function keyword(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value
    .replace(/\([^)]*\)/g, ' ')
    .split(/[;\s]/)
    .find((t) => t !== '')
    ?.toLowerCase();
}

/** Why `mail` looks automated, or undefined for a person's mail. Pure. */
export function automationReason(mail: ListMail): string | undefined {
  const h = mail.header;
  const auto = keyword(h.get('Auto-Submitted'));
  if (auto !== undefined && auto !== 'no') return `Auto-Submitted: ${auto}`;
  const precedence = keyword(h.get('Precedence'));
  if (precedence === 'bulk' || precedence === 'junk' || precedence === 'list')
    return `Precedence: ${precedence}`;
  if (h.has('List-Id')) return 'it carries a List-Id (mail from a list)';
  for (const name of ['X-Autoreply', 'X-Autorespond', 'X-Auto-Response']) {
    if (h.has(name)) return `it carries ${name}`;
  }
  const suppress = h.get('X-Auto-Response-Suppress')?.toLowerCase() ?? '';
  if (/\b(all|oof|autoreply)\b/.test(suppress)) return `X-Auto-Response-Suppress: ${suppress}`;
  const type = keyword(h.get('Content-Type'));
  if (type === 'multipart/report') return 'it is a delivery or disposition report';
  const returnPath = h.get('Return-Path');
  if (returnPath !== undefined && /^<\s*>$/.test(returnPath.trim()))
    return 'its envelope sender is empty';
  const senders = [
    ...parseAddressList(returnPath),
    ...parseAddressList(h.get('Sender')),
    ...parseAddressList(h.get('From')),
  ];
  if (senders.length === 0 && returnPath === undefined) return 'it has no sender address';
  for (const { address } of senders) {
    const local = address.slice(0, Math.max(0, address.lastIndexOf('@')));
    if (ROBOT_LOCAL.test(local)) return `its sender ${address} is a robot address`;
  }
  return undefined;
}

/** True when `mail` must never get an automatic answer (RFC 3834 §2). */
export function isAutomated(mail: ListMail): boolean {
  return automationReason(mail) !== undefined;
}
