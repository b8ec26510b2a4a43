/**
 * The events malist tells webhooks about, and their JSON. An event's `id` is derived from
 * what it is about (the list, the post's key, the member, the decision), so the same event
 * told twice — a run replayed after a crash, two runners — is one queue entry and reaches a
 * receiver once. Receivers should still treat `id` as the idempotency key.
 */
import { createHash } from 'node:crypto';
import { isoTime } from '../../mail/iso-time.ts';

export const WEBHOOK_EVENTS = [
  'post.distributed',
  'post.held',
  'post.approved',
  'post.rejected',
  'post.discarded',
  'member.subscribed',
  'member.unsubscribed',
  'member.disabled',
  'dead_letter',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

export interface WebhookEvent {
  /** Unique per event: the receiver's idempotency key. */
  id: string;
  type: WebhookEventType;
  /** The list's short name. */
  list: string;
  /** ISO time the event happened. */
  at: string;
  /** What the event is about (message_id, subject, from, recipients, address, reason, …). */
  data: Record<string, unknown>;
}

/** An event with its id derived from `dedupe` (what makes two tellings the same event). */
export function webhookEvent(
  type: WebhookEventType,
  list: string,
  data: Record<string, unknown>,
  dedupe: string,
  now = Date.now(),
): WebhookEvent {
  const id = createHash('sha256').update(`${type}\0${list}\0${dedupe}`).digest('hex').slice(0, 32);
  return { id, type, list, at: isoTime(now), data };
}
