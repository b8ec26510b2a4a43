/**
 * RFC 3464 delivery-status fields: one per-message block, then one block per recipient.
 * Tolerant of what real MTAs send: lower-case names, `rfc822;addr` without a blank, a
 * per-recipient block base64-encoded inside the part (seen from Postfix behind a gateway).
 */
import { parseFieldBlock } from './report-parts.ts';

export interface DsnRecipient {
  /** Final-Recipient (or Original-Recipient) address, as written. */
  address: string;
  /** `failed`, `delayed`, `delivered`, `relayed`, `expanded` (lower case); '' when absent. */
  action: string;
  /** The enhanced status code `class.subject.detail`, e.g. `5.1.1`; '' when absent. */
  status: string;
  /** Diagnostic-Code text, when given. */
  diagnostic: string;
}

/** `rfc822; a@b` → `a@b` (angle brackets and comments removed). */
export function addressOfField(value: string | undefined): string {
  if (!value) return '';
  const text = value.includes(';') ? value.slice(value.indexOf(';') + 1) : value;
  return text
    .replace(/\([^)]*\)/g, '')
    .replace(/[<>]/g, '')
    .trim();
}

function blocksOf(text: string): string[] {
  const blocks = text
    .split(/\r?\n[ \t]*\r?\n/)
    .map((b) => b.trim())
    .filter((b) => b !== '');
  const out: string[] = [];
  for (let i = 0; i < blocks.length; i++) {
    const fields = parseFieldBlock(blocks[i]!);
    out.push(blocks[i]!);
    if ((fields['content-transfer-encoding'] ?? '').toLowerCase() === 'base64' && blocks[i + 1]) {
      // The next block is base64 text holding more blocks.
      const decoded = Buffer.from(blocks[i + 1]!.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
      out.push(...blocksOf(decoded.toString('latin1')));
      i++;
    }
  }
  return out;
}

/** The per-recipient entries of a message/delivery-status body. */
export function parseDeliveryStatus(text: string): DsnRecipient[] {
  const recipients: DsnRecipient[] = [];
  for (const block of blocksOf(text)) {
    const fields = parseFieldBlock(block);
    const address = addressOfField(fields['final-recipient'] ?? fields['original-recipient']);
    if (!address) continue;
    const status = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/.exec(fields['status'] ?? '');
    recipients.push({
      address,
      action: (fields['action'] ?? '').trim().toLowerCase().split(/\s/)[0] ?? '',
      status: status ? `${status[1]}.${status[2]}.${status[3]}` : '',
      diagnostic: fields['diagnostic-code'] ?? fields['status'] ?? '',
    });
  }
  return recipients;
}
