/**
 * What a mail to the bounce address is: a bounce (which addresses, hard or soft), or not a
 * bounce (a vacation reply, a challenge-response robot, a read receipt, an abuse report, a
 * success report, or just mail). A pure function of the bytes.
 *
 * Order matters: a real bounce often carries `Auto-Submitted: auto-replied` (Postfix,
 * Exim), so bounce formats are tried before the robot check.
 */
import { normalizeAddress } from '../mail/address.ts';
import { HeaderBlock } from '../mail/header-block.ts';
import { robotKind } from './automated.ts';
import { type DsnRecipient, parseDeliveryStatus } from './dsn.ts';
import { parseTextBounce } from './non-standard.ts';
import { findParts } from './report-parts.ts';
import { type BounceClass, bounceClass } from './severity.ts';

export interface BouncedRecipient {
  /** The address in normal form. */
  address: string;
  class: BounceClass;
  /** `failed` or `delayed`. */
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
  | 'not-a-bounce';

export type BounceVerdict =
  | { kind: 'bounce'; format: string; recipients: BouncedRecipient[] }
  | { kind: 'not-bounce'; reason: NotBounceReason };

const DSN_TYPES = ['message/delivery-status', 'message/global-delivery-status'];

function fromDsn(entries: DsnRecipient[]): BouncedRecipient[] {
  const out: BouncedRecipient[] = [];
  for (const e of entries) {
    const address = normalizeAddress(e.address);
    if (!address || out.some((r) => r.address === address)) continue;
    const action =
      e.action === 'failed' || e.action === 'delayed'
        ? e.action
        : e.action === '' && /^[45]/.test(e.status)
          ? e.status.startsWith('4')
            ? 'delayed'
            : 'failed'
          : undefined;
    if (!action) continue;
    out.push({
      address,
      action,
      status: e.status,
      diagnostic: e.diagnostic,
      class: bounceClass(e.status, e.diagnostic, action),
    });
  }
  return out;
}

/** Classifies a mail that arrived at a bounce address. */
export function classifyBounce(raw: Buffer): BounceVerdict {
  const { header, bodyStart } = HeaderBlock.parse(raw);
  const contentType = (header.get('Content-Type') ?? '').toLowerCase();
  const text = raw.toString('latin1');
  const body = text.slice(bodyStart);
  if (contentType.startsWith('multipart/report')) {
    if (/report-type\s*=\s*"?disposition-notification/.test(contentType))
      return { kind: 'not-bounce', reason: 'mdn' };
    if (/report-type\s*=\s*"?feedback-report/.test(contentType))
      return { kind: 'not-bounce', reason: 'feedback-report' };
    const entries = findParts(body, DSN_TYPES).flatMap((p) => parseDeliveryStatus(p.body));
    const recipients = fromDsn(entries);
    if (recipients.length > 0) return { kind: 'bounce', format: 'dsn', recipients };
    if (entries.length > 0 && entries.every((e) => /^(delivered|relayed|expanded)$/.test(e.action)))
      return { kind: 'not-bounce', reason: 'success-report' };
  }
  const textual = parseTextBounce(body, header.get('X-Failed-Recipients'));
  if (textual.length > 0) {
    const recipients: BouncedRecipient[] = [];
    for (const t of textual) {
      const address = normalizeAddress(t.address);
      if (!address || recipients.some((r) => r.address === address)) continue;
      const enhanced = /#?([45])\.(\d{1,3})\.(\d{1,3})/.exec(t.diagnostic);
      const status = enhanced ? `${enhanced[1]}.${enhanced[2]}.${enhanced[3]}` : '';
      const klass =
        t.permanent === false
          ? 'soft'
          : status || /\b[45]\d\d\b/.test(t.diagnostic)
            ? bounceClass(status, t.diagnostic)
            : t.permanent
              ? 'hard'
              : 'soft';
      recipients.push({
        address,
        action: t.permanent === false ? 'delayed' : 'failed',
        status,
        diagnostic: t.diagnostic,
        class: klass,
      });
    }
    if (recipients.length > 0) return { kind: 'bounce', format: textual[0]!.format, recipients };
  }
  return { kind: 'not-bounce', reason: robotKind(raw) ?? 'not-a-bounce' };
}
