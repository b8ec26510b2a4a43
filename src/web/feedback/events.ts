/**
 * The services' reports as FeedbackEvents (bounces/feedback.ts), one per recipient:
 * SES's notification (identity notifications' `notificationType`, or a configuration
 * set's `eventType`) and Mailgun's `event-data`. Deliveries, opens and the rest are
 * not feedback and give none; so does Mailgun's `temporary` failure (Mailgun retries).
 */
import type { FeedbackEvent } from '../../bounces/feedback.ts';

interface SesNotice {
  notificationType?: string;
  eventType?: string;
  mail?: { messageId?: string; commonHeaders?: { messageId?: string } };
  bounce?: {
    feedbackId?: string;
    bounceType?: string;
    bouncedRecipients?: Array<{ emailAddress?: string; diagnosticCode?: string; status?: string }>;
  };
  complaint?: {
    feedbackId?: string;
    complaintFeedbackType?: string;
    complainedRecipients?: Array<{ emailAddress?: string }>;
  };
}

/** The events of one SES notification (the SNS `Message`). */
export function sesEvents(message: string, snsMessageId: string): FeedbackEvent[] {
  let n: SesNotice;
  try {
    n = JSON.parse(message) as SesNotice;
  } catch {
    return [];
  }
  const kind = n.notificationType ?? n.eventType;
  const messageId = n.mail?.commonHeaders?.messageId;
  const base = { service: 'ses' as const, ...(messageId ? { messageId } : {}) };
  if (kind === 'Bounce' && n.bounce) {
    const id = n.bounce.feedbackId ?? snsMessageId;
    return (n.bounce.bouncedRecipients ?? []).flatMap((r) =>
      r.emailAddress
        ? [
            {
              ...base,
              id,
              type: 'bounce' as const,
              recipient: r.emailAddress,
              permanent: n.bounce?.bounceType === 'Permanent',
              diagnostic:
                r.diagnosticCode ?? `${n.bounce?.bounceType ?? ''} ${r.status ?? ''}`.trim(),
            },
          ]
        : [],
    );
  }
  if (kind === 'Complaint' && n.complaint) {
    const id = n.complaint.feedbackId ?? snsMessageId;
    return (n.complaint.complainedRecipients ?? []).flatMap((r) =>
      r.emailAddress
        ? [
            {
              ...base,
              id,
              type: 'complaint' as const,
              recipient: r.emailAddress,
              diagnostic: n.complaint?.complaintFeedbackType ?? 'abuse',
            },
          ]
        : [],
    );
  }
  return [];
}

interface MailgunEventData {
  id?: string;
  event?: string;
  severity?: string;
  recipient?: string;
  reason?: string;
  'delivery-status'?: { code?: number; message?: string; description?: string };
  message?: { headers?: { 'message-id'?: string } };
}

/** The event of one Mailgun webhook body's `event-data`. */
export function mailgunEvents(data: MailgunEventData | undefined): FeedbackEvent[] {
  if (!data?.id || !data.recipient) return [];
  const raw = data.message?.headers?.['message-id'];
  const base = {
    service: 'mailgun' as const,
    id: data.id,
    recipient: data.recipient,
    ...(raw ? { messageId: raw } : {}),
  };
  if (data.event === 'failed' && data.severity === 'permanent') {
    const s = data['delivery-status'];
    const diagnostic = [s?.code, s?.message || s?.description, data.reason]
      .filter(Boolean)
      .join(' ');
    return [{ ...base, type: 'bounce', permanent: true, diagnostic }];
  }
  if (data.event === 'complained') return [{ ...base, type: 'complaint', diagnostic: 'abuse' }];
  return [];
}
