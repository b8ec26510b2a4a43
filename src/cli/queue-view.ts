/**
 * What `malist queue list` shows: one row per entry, in one state. An entry that gave up on
 * some recipients while others still wait has a dead letter beside its waiting envelope;
 * it is one row (`waiting`, FAILED counting the dead-lettered), not two. A dead letter's
 * envelope is a snapshot taken when it was written: its other recipients may have been
 * delivered since, so a dead row counts only the failed ones (never "PENDING 1" after
 * delivery). Server replies carry their code once; a reason cut to fit the table ends in
 * `…` (`--wide` and `--json` give it whole).
 */
import { type ReplyClass, replyClass, replyText } from '../mail/smtp-reply.ts';
import { nextAttempt } from '../queue/envelope.ts';
import type { SpoolEntry } from '../queue/spool.ts';
import { columns, cut } from './table.ts';

export interface QueueRow {
  id: string;
  list: string | null;
  message_id: string | null;
  /** waiting, claimed (a runner works on it), first-round (sent before spooling), dead. */
  state: 'waiting' | 'claimed' | 'first-round' | 'dead';
  /** The process working on it (claimed, first-round). */
  pid: number | null;
  created: string;
  age_seconds: number;
  pending: number | null;
  delivered: number | null;
  failed: number | null;
  /** ISO time of the next attempt (null: none, dead, or in its first round). */
  next_attempt: string | null;
  /** The last server reply or error, whole, code once. */
  last_error: string | null;
  /** Its class: EAUTH, ETLS, ECONNECTION, ETEMPORARY, EENVELOPE, ESIZE. */
  problem: ReplyClass | null;
  recipients: Array<{
    address: string;
    state: string;
    attempts: number;
    reply: string | null;
  }>;
}

function count(entry: SpoolEntry, state: string): number {
  return entry.envelope.recipients.filter((r) => r.state === state).length;
}

/** The reply a row shows: a dead letter's refusal, else the last error that deferred. */
function lastError(entry: SpoolEntry): { text: string; kind: ReplyClass | undefined } {
  const records = entry.envelope.recipients;
  const failed = records.filter((r) => r.state === 'failed').at(-1);
  const pending = records.filter((r) => r.state === 'pending').at(-1);
  const about = entry.where === 'dead' ? (failed ?? pending) : (pending ?? failed);
  if (about && (about.code !== undefined || about.response))
    return {
      text: replyText(about.code, about.response),
      kind: replyClass(about.code, about.response),
    };
  const text = entry.envelope.last_error ?? '';
  return { text, kind: text ? replyClass(undefined, text) : undefined };
}

/** One row per entry: a dead letter of an entry that still waits is folded into it. */
export function queueRows(entries: SpoolEntry[], now: number): QueueRow[] {
  const live = new Set(entries.filter((e) => e.where !== 'dead').map((e) => e.id));
  return entries
    .filter((e) => e.where !== 'dead' || !live.has(e.id))
    .map((e) => {
      const dead = e.where === 'dead';
      const first = e.firstRound === true;
      const next = dead || first ? undefined : nextAttempt(e.envelope);
      const { text, kind } = lastError(e);
      return {
        id: e.id,
        list: e.envelope.list ?? null,
        message_id: e.envelope.message_id ?? null,
        state: first ? 'first-round' : dead ? 'dead' : e.where === 'cur' ? 'claimed' : 'waiting',
        pid: e.holder?.pid ?? null,
        created: new Date(e.envelope.created).toISOString(),
        age_seconds: Math.max(0, Math.round((now - e.envelope.created) / 1000)),
        pending: first || dead ? null : count(e, 'pending'),
        delivered: first || dead ? null : count(e, 'delivered'),
        failed: first ? null : count(e, 'failed'),
        next_attempt: next === undefined ? null : new Date(next).toISOString(),
        last_error: text || null,
        problem: kind ?? null,
        recipients: e.envelope.recipients
          .filter((r) => !dead || r.state === 'failed')
          .map((r) => ({
            address: r.address,
            state: r.state,
            attempts: r.attempts,
            reply: r.code !== undefined || r.response ? replyText(r.code, r.response) : null,
          })),
      } satisfies QueueRow;
    });
}

function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400)
    return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86_400)}d${Math.floor((s % 86_400) / 3600)}h`;
}

/** The table: columns padded; the last (the reason) cut to 70 unless `wide`. */
export function formatTable(entries: SpoolEntry[], now: number, wide = false): string {
  const rows = [
    ['ENTRY', 'LIST', 'AGE', 'PENDING', 'FAILED', 'NEXT ATTEMPT', 'STATE', 'LAST ERROR'],
  ];
  for (const r of queueRows(entries, now)) {
    const next = r.next_attempt === null ? undefined : Date.parse(r.next_attempt);
    const state =
      r.state === 'first-round'
        ? `first round, pid ${r.pid ?? '?'}`
        : r.state === 'claimed'
          ? `claimed by pid ${r.pid ?? '?'}`
          : r.state;
    rows.push([
      wide ? r.id : r.id.slice(0, 16),
      r.list ?? '-',
      age(r.age_seconds * 1000),
      r.pending === null ? '-' : String(r.pending),
      r.failed === null ? '-' : String(r.failed),
      next === undefined ? '-' : next <= now ? 'now' : `in ${age(next - now)}`,
      state,
      cut(r.last_error ?? '', wide ? undefined : 70),
    ]);
  }
  return columns(rows);
}
