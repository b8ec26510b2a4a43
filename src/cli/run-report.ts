/**
 * What `malist run` tells the operator about each list, and when that needs them. The
 * counts are per recipient (outcome-counts.ts); a list "needs the operator" when waiting
 * will not cure it: nothing delivered because the server refused the password or TLS
 * failed, dead letters made, or recipients queued for longer than the queue's `alert_after`.
 * A server down for a few minutes is "queued" and needs no one.
 */
import { ErrorCode } from '../errors.ts';
import { needsOperator, replyText } from '../mail/smtp-reply.ts';
import type { OutcomeEvent } from '../play.ts';
import type { RecipientFailure } from '../queue/queue.ts';
import type { SpoolEntry } from '../queue/spool.ts';
import type { RecipientResult } from '../types.ts';
import { addCounts, countOutcome, type OutcomeCounts } from './outcome-counts.ts';

export interface ListTally extends OutcomeCounts {
  /** Posts distributed (each counted once, whatever its recipients' outcomes). */
  posts: number;
  held: number;
  rejected: number;
  discarded: number;
  /** Mails a stage failed on (kept at the source for the next run). */
  failed: number;
  /** Recipients a queue run retried this run (counted in delivered/queued/… too). */
  retried: number;
  /** Recipients given up on this run (dead letters), with the last reason. */
  deadLetters: number;
  deadReason?: string;
  /** Recipients pending longer than `alert_after`, how long the oldest waited, why. */
  overdue: number;
  overdueMs: number;
  overdueReason?: string;
}

export function newTally(): ListTally {
  return {
    posts: 0,
    delivered: 0,
    queued: 0,
    deferred: 0,
    refused: 0,
    unqueued: 0,
    held: 0,
    rejected: 0,
    discarded: 0,
    failed: 0,
    retried: 0,
    deadLetters: 0,
    overdue: 0,
    overdueMs: 0,
  };
}

export function plural(n: number, word: string): string {
  if (n === 1) return `${n} ${word}`;
  return `${n} ${word.endsWith('y') ? `${word.slice(0, -1)}ies` : `${word}s`}`;
}

/** Adds one finished mail copy to its list's tally. */
export function countEvent(t: ListTally, event: OutcomeEvent): void {
  if (event.outcome === 'distributed' || event.outcome === 'partial') {
    t.posts++;
    addCounts(t, countOutcome(event.report?.results ?? []));
    if (event.outcome === 'partial') t.failed++;
  } else if (
    event.outcome === 'held' ||
    event.outcome === 'rejected' ||
    event.outcome === 'discarded'
  ) {
    t[event.outcome]++;
  } else if (event.outcome === 'failed') t.failed++;
}

/** Adds a queue run's round for one of the list's entries. */
export function countRetry(t: ListTally, results: readonly RecipientResult[]): void {
  const counts = countOutcome(results);
  t.retried += counts.delivered + counts.queued + counts.deferred + counts.refused;
  // A retried recipient the server deferred again stays queued.
  addCounts(t, { ...counts, queued: counts.queued + counts.deferred, unqueued: 0 });
}

/** Adds the recipients the queue gave up on this run. */
export function countDeadLetter(t: ListTally, event: RecipientFailure): void {
  t.deadLetters++;
  t.deadReason =
    event.reason === 'expired'
      ? `expired${event.response ? `: ${event.response}` : ''}`
      : replyText(event.code, event.response);
}

/** Adds the list's waiting entries whose pending recipients are older than `alertAfter`. */
export function countOverdue(
  t: ListTally,
  entry: SpoolEntry,
  now: number,
  alertAfter: number,
): void {
  if (entry.where === 'dead' || entry.firstRound) return;
  const waited = now - entry.envelope.created;
  if (waited <= alertAfter) return;
  const pending = entry.envelope.recipients.filter((r) => r.state === 'pending').length;
  if (pending === 0) return;
  t.overdue += pending;
  t.overdueMs = Math.max(t.overdueMs, alertAfter);
  if (entry.envelope.last_error) t.overdueReason = entry.envelope.last_error;
}

/** "1h", "30m", "45s": a duration as the operator wrote it. */
export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s % 86_400 === 0) return `${s / 86_400}d`;
  if (s % 3600 === 0) return `${s / 3600}h`;
  if (s % 60 === 0) return `${s / 60}m`;
  return `${s}s`;
}

/**
 * "1 post — 0 delivered, 6 queued (535 5.7.8 authentication failed), 1 held" — or
 * "nothing new".
 */
export function describeTally(t: ListTally): string {
  const parts: string[] = [];
  const why = (text: string | undefined) => (text ? ` (${text})` : '');
  const mails: string[] = [];
  if (t.posts) mails.push(plural(t.posts, 'post'));
  if (t.retried) mails.push(`${plural(t.retried, 'recipient')} retried`);
  if (mails.length > 0 || t.delivered || t.queued || t.refused) {
    const counts = [`${t.delivered} delivered`];
    if (t.queued) counts.push(`${t.queued} queued${why(t.reply)}`);
    if (t.unqueued) counts.push(`${t.unqueued} deferred${why(t.reply)}`);
    if (t.refused) counts.push(`${t.refused} refused${why(t.refusal)}`);
    parts.push(`${mails.join(', ')} — ${counts.join(', ')}`);
  }
  if (t.held) parts.push(`${t.held} held`);
  if (t.rejected) parts.push(`${t.rejected} rejected`);
  if (t.discarded) parts.push(`${t.discarded} discarded`);
  if (t.failed) parts.push(`${t.failed} failed (kept for the next run)`);
  return parts.length ? parts.join(', ') : 'nothing new';
}

/** Why the list needs the operator, in a few words; undefined when it does not. */
export function listAttention(name: string, t: ListTally): string | undefined {
  const reasons: string[] = [];
  const waiting = t.queued + t.deferred;
  if (waiting > 0 && t.delivered === 0 && needsOperator(t.problem)) {
    const what =
      t.problem === ErrorCode.AUTH
        ? 'the SMTP server refused the login'
        : 'TLS with the SMTP server failed';
    reasons.push(`nothing delivered: ${what} (${t.reply}); fix the server settings in malist.yaml`);
  }
  // A refused member among delivered ones is routine (the bounce rules and the owners' hourly
  // dead-letter notice deal with it): cron is woken only when the list delivered nothing.
  if (t.deadLetters > 0 && t.delivered === 0)
    reasons.push(`${plural(t.deadLetters, 'dead letter')} (${t.deadReason ?? 'given up'})`);
  if (t.overdue > 0)
    reasons.push(
      `${plural(t.overdue, 'recipient')} queued for more than ${duration(t.overdueMs)}` +
        `${t.overdueReason ? ` (last: ${t.overdueReason})` : ''}`,
    );
  return reasons.length > 0 ? `${name}: ${reasons.join('; ')}` : undefined;
}

/** A list's entry in `malist run --json`. */
export function tallyJson(name: string, address: string, t: ListTally) {
  return {
    name,
    address,
    posts: t.posts,
    delivered: t.delivered,
    queued: t.queued,
    deferred: t.deferred,
    refused: t.refused,
    held: t.held,
    rejected: t.rejected,
    discarded: t.discarded,
    failed: t.failed,
    retried: t.retried,
    dead_letters: t.deadLetters,
    overdue: t.overdue,
    reply: t.reply ?? null,
    problem: t.problem ?? null,
    refusal: t.refusal ?? null,
    attention: listAttention(name, t) ?? null,
  };
}
