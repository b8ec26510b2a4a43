/**
 * One post's per-recipient truth, counted once for every report (the run summary, its JSON,
 * the delivery log): delivered, queued (the durable queue owns the recipient now),
 * deferred (the server or the network said "not now" this time — a queued recipient whose
 * first round got a 4xx, or a distributor without a queue that got one) and refused (5xx:
 * dead letter and bounce record). A recipient several distributors reported on counts once,
 * in its worst state: the operator is never told "delivered" for someone who was not.
 */
import { type ReplyClass, replyClass, replyText } from '../mail/smtp-reply.ts';
import type { RecipientResult, RecipientStatus } from '../types.ts';

export interface OutcomeCounts {
  delivered: number;
  queued: number;
  deferred: number;
  refused: number;
  /** Of `deferred`, those no queue owns (a distributor without a queue got a 4xx). */
  unqueued: number;
  /** Why recipients are queued or deferred: the last such reply, code once. */
  reply?: string;
  /** The class of that reply (EAUTH, ETLS, ECONNECTION, ETEMPORARY, …). */
  problem?: ReplyClass;
  /** The last refusal (5xx), code once. */
  refusal?: string;
  /** The last reply of any kind (a 250 too), for the delivery log. */
  last?: string;
}

const WORST: RecipientStatus[] = ['failed', 'deferred', 'queued', 'delivered'];

/** Each recipient once, with the worst status any distributor reported for it. */
function byRecipient(results: readonly RecipientResult[]): Map<string, RecipientResult> {
  const out = new Map<string, RecipientResult>();
  for (const r of results) {
    const key = r.recipient.toLowerCase();
    const seen = out.get(key);
    if (!seen || WORST.indexOf(r.status) < WORST.indexOf(seen.status)) out.set(key, r);
  }
  return out;
}

/** The counts of one delivery report. */
export function countOutcome(results: readonly RecipientResult[]): OutcomeCounts {
  const counts: OutcomeCounts = {
    delivered: 0,
    queued: 0,
    deferred: 0,
    refused: 0,
    unqueued: 0,
  };
  for (const r of byRecipient(results).values()) {
    const answered = r.code !== undefined || (r.response ?? '') !== '';
    const text = answered ? replyText(r.code, r.response) : undefined;
    if (text) counts.last = text;
    if (r.status === 'delivered') counts.delivered++;
    else if (r.status === 'failed') {
      counts.refused++;
      if (text) counts.refusal = text;
    } else {
      if (r.status === 'deferred') {
        counts.deferred++;
        counts.unqueued++;
      } else {
        counts.queued++;
        // Queued after a try: the server (or the network) deferred it this time.
        if (answered) counts.deferred++;
      }
      if (text) {
        counts.reply = text;
        const problem = replyClass(r.code, r.response);
        if (problem) counts.problem = problem;
      }
    }
  }
  return counts;
}

/** Adds `more` into `into` (the replies and their class: the latest wins). */
export function addCounts(into: OutcomeCounts, more: OutcomeCounts): void {
  into.delivered += more.delivered;
  into.queued += more.queued;
  into.deferred += more.deferred;
  into.refused += more.refused;
  into.unqueued += more.unqueued;
  if (more.reply !== undefined) into.reply = more.reply;
  if (more.problem !== undefined) into.problem = more.problem;
  if (more.refusal !== undefined) into.refusal = more.refusal;
  if (more.last !== undefined) into.last = more.last;
}
