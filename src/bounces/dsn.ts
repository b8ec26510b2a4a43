/**
 * RFC 3464 delivery-status fields: one per-message block, then one block per recipient.
 * Tolerant of what real MTAs send: lower-case names, `rfc822;addr` without a blank, an
 * address with no type (`Final-Recipient: <a@b>`), an X.400 or `LOCAL;` Final-Recipient
 * beside an rfc822 Original-Recipient, Action words outside the RFC (`failure`, `error`,
 * `failed (Bad destination mailbox address)`), an SMTP code in Status, a per-recipient
 * block base64-encoded inside the part (seen from Postfix behind a gateway).
 */
import { normalizeAddress } from '../mail/address.ts';
import { decodeBody, fieldsOf } from './scan.ts';

export interface DsnRecipient {
  /** Final-Recipient as an address in normal form, '' when it is not one (X.400, LOCAL). */
  final: string;
  /** Original-Recipient in normal form, '' when absent or not an address. */
  original: string;
  /** `failed`, `delayed`, `delivered`, `relayed`, `expanded`, or '' when unknown. */
  action: string;
  /** The Status field as written (`5.1.1`, `4.4.7 (delivery time expired)`, `553 …`). */
  status: string;
  /** Diagnostic-Code text, when given. */
  diagnostic: string;
}

/** An address in normal form, or '' (also for a local part that is not a dot-atom: `a..@b`). */
export function mailboxAddress(text: string): string {
  const bare = text.trim().replace(/^<|>$/g, '');
  return /^\.|\.\.|\.@/.test(bare) ? '' : normalizeAddress(bare);
}

/** `rfc822; <a@b>` → `a@b` in normal form; '' for other address types. */
export function addressOfField(value: string | undefined): string {
  if (!value) return '';
  const semi = value.indexOf(';');
  const type = semi < 0 ? 'rfc822' : value.slice(0, semi).trim().toLowerCase();
  if (type !== 'rfc822' && type !== 'x-rfc822' && type !== 'smtp') return '';
  const text = (semi < 0 ? value : value.slice(semi + 1))
    .replace(/\([^)]*\)/g, '')
    .replace(/^\s*rfc822\s*;/i, '')
    .replace(/[<>"]/g, '')
    .trim();
  return mailboxAddress(text);
}

/** What an Action field says, in RFC 3464 words ('' when it says nothing known). */
export function actionOf(value: string | undefined): string {
  const word =
    (value ?? '')
      .trim()
      .toLowerCase()
      .split(/[\s(;,]/)[0] ?? '';
  if (/^(failed|failure|fail|error|permanent|undeliverable|bounced?)$/.test(word)) return 'failed';
  if (/^(delayed|delay|deferred|transient|temporary)$/.test(word)) return 'delayed';
  if (/^(delivered|relayed|expanded)$/.test(word)) return word;
  return '';
}

function blocksOf(text: string): string[][] {
  const blocks: string[][] = [];
  let current: string[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (current.length) blocks.push(current);
      current = [];
      if (blocks.length > 1000) break;
    } else if (current.length < 200) current.push(line);
  }
  if (current.length) blocks.push(current);
  return blocks;
}

/** The per-recipient entries of a message/delivery-status body. */
export function parseDeliveryStatus(text: string, depth = 0): DsnRecipient[] {
  const recipients: DsnRecipient[] = [];
  const blocks = blocksOf(text);
  for (let i = 0; i < blocks.length && recipients.length < 500; i++) {
    const fields = fieldsOf(blocks[i]!);
    if ((fields['content-transfer-encoding'] ?? '').toLowerCase() === 'base64' && depth === 0) {
      // The blocks after this one are base64 text holding more blocks.
      const rest = blocks.slice(i + 1).flat();
      recipients.push(...parseDeliveryStatus(decodeBody(rest, 'base64'), 1));
      break;
    }
    const finalField = fields['final-recipient'] ?? fields['x-actual-recipient'];
    const originalField = fields['original-recipient'];
    if (finalField === undefined && originalField === undefined) continue;
    const final = addressOfField(finalField);
    let original = addressOfField(originalField);
    // `Original-Recipient: rfc822; rfc822;a@b` (XWall) and the like parse the same.
    if (original === final) original = '';
    if (!final && !original) continue;
    recipients.push({
      final,
      original,
      action: actionOf(fields['action']),
      status: (fields['status'] ?? '').trim(),
      diagnostic: (fields['diagnostic-code'] ?? '').trim(),
    });
  }
  return recipients;
}
