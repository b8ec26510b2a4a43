/**
 * "Why didn't alice get this post?": the answer assembled from what malist already records
 * — the journal (fetched when, from where, with what outcome and why), the held store and
 * the moderators' decisions, the queue (each recipient's answers, tries, next attempt, dead
 * letter), the member's options and bounce standing, the digest in the making. A pure
 * function over those facts (`src/cli/trace.ts` reads them through each store's own read
 * functions); it lives with moderation because it answers a moderator's question, and this
 * part may read every store it joins (and the web may show it too).
 */
import { parseAddressList, sameAddress } from '../mail/address.ts';
import type { Member } from '../members/store.ts';
import type { QueuedPost, QueuedRecipient } from '../queue/trace.ts';
import type { JournalEntry } from '../state/journal.ts';
import type { StoredMeta } from '../state/mail-store.ts';
import type { Decision } from './held.ts';

/** A held post (still held or decided) with the decision, if any. */
export interface HeldFact {
  meta: StoredMeta;
  decision?: Decision;
}

/** Where the digest stands with a post, for a digest member. */
export type DigestFact =
  | { state: 'pending'; next: string }
  | { state: 'sending'; issue: string }
  | { state: 'none'; last?: string };

/** What the stores say of one post (grouped by Message-ID). */
export interface PostFacts {
  messageId?: string;
  /** Journal records of the post (the fetched mail, an approved copy), oldest first. */
  journal: Array<{ key: string; entry: JournalEntry }>;
  held: HeldFact[];
  queue: QueuedPost[];
  /** Only asked for when the member gets digests. */
  digest?: DigestFact;
  /** The list's archive has it: where (relative to the archive root) and its date. */
  archived?: { file: string; date: number };
}

export interface TraceFacts {
  list: string;
  member: string;
  /** The member as stored now; undefined: not a member now. */
  memberNow?: Member;
  bounce?: { score: number; count: number; last_bounce?: number; reason?: string };
  /** The list hands its posts to the durable queue (else no per-recipient record exists). */
  queued: boolean;
  posts: PostFacts[];
}

/** What happened to a post as a whole. */
export interface TraceEvent {
  at?: string;
  /** fetched, held, approved, rejected, discarded, expired, distributed, quarantined. */
  what: string;
  detail?: string;
}

export type Verdict =
  | 'delivered'
  | 'queued'
  | 'refused'
  | 'not-a-recipient'
  | 'not-sent'
  | 'unknown';

export interface Answer {
  kind: 'deferred' | 'final';
  at?: string;
  code?: number;
  response?: string;
}

/** The member's side of one post. */
export interface MemberOutcome {
  verdict: Verdict;
  /** One sentence a moderator reads. */
  why: string;
  tries?: number;
  answers?: Answer[];
  next_attempt?: string;
  dead_letter?: string;
}

export interface PostTrace {
  message_id?: string;
  subject?: string;
  from?: string;
  origin?: string;
  events: TraceEvent[];
  member: MemberOutcome;
}

export interface Trace {
  list: string;
  member: string;
  membership: { member: boolean; options: string[]; nomail_reason?: string };
  bounce?: TraceFacts['bounce'];
  posts: PostTrace[];
}

const iso = (ms: number | undefined) =>
  ms === undefined ? undefined : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
/** A time in a sentence: `2026-12-05 09:34:29Z`. */
const human = (at: number | string | undefined) =>
  at === undefined
    ? 'an unrecorded time'
    : new Date(at)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d{3}Z$/, 'Z');

/** `550 5.1.1 no such user`: the code once, whether or not the answer repeats it. */
export function answerText(a: { code?: number; response?: string }): string {
  const response = a.response?.trim() ?? '';
  if (a.code === undefined) return response;
  return response.startsWith(String(a.code)) ? response : `${a.code} ${response}`.trim();
}

const OPTION_KEYS = ['digest', 'nomail', 'notmetoo', 'moderate'] as const;

/** The post's life as events: fetched and journaled, held and decided, delivered. */
function eventsOf(post: PostFacts): TraceEvent[] {
  const events: TraceEvent[] = [];
  for (const { meta, decision } of post.held) {
    events.push({
      at: meta.at,
      what: 'held',
      detail: `${meta.reason} (unit ${meta.unit})`,
    });
    if (decision) {
      const what = {
        approve: 'approved',
        reject: 'rejected',
        discard: 'discarded',
        expire: 'expired',
      }[decision.action];
      events.push({ at: decision.at, what, detail: `by ${decision.by}` });
    }
  }
  for (const { entry } of post.journal) {
    if (entry.outcome === 'held' && post.held.length > 0) continue; // said above, with more
    const unit = entry.unit ? ` (unit ${entry.unit})` : '';
    events.push({
      at: entry.at,
      what: entry.outcome,
      ...(entry.reason ? { detail: `${entry.reason}${unit}` } : {}),
    });
  }
  if (post.archived) events.push({ what: 'archived', detail: post.archived.file });
  // Timeless events (the archive's copy) after the timed ones.
  const time = (e: TraceEvent) => (e.at ? Date.parse(e.at) : Number.POSITIVE_INFINITY);
  return events.sort((a, b) => time(a) - time(b));
}

function answersOf(r: QueuedRecipient): Answer[] {
  const out: Answer[] = [];
  if (r.deferred) out.push({ kind: 'deferred', at: iso(r.deferred.at), ...codeOf(r.deferred) });
  if (r.final) out.push({ kind: 'final', at: iso(r.final.at), ...codeOf(r.final) });
  return out;
}

function codeOf(a: { code?: number; response?: string }) {
  return {
    ...(a.code !== undefined ? { code: a.code } : {}),
    ...(a.response ? { response: a.response } : {}),
  };
}

/** The member's record in the queue's posts, with its post. */
function findRecipient(facts: TraceFacts, post: PostFacts) {
  for (const queued of post.queue)
    for (const r of queued.recipients)
      if (sameAddress(r.address, facts.member)) return { queued, r };
  return undefined;
}

/** What the queue says of the member, when it names her. */
function fromQueue(queued: QueuedPost, r: QueuedRecipient): MemberOutcome {
  const answers = answersOf(r);
  const last = r.final ?? r.deferred;
  const said = last ? ` ${answerText(last)}`.trimEnd() : '';
  const tries = `${r.tries} ${r.tries === 1 ? 'try' : 'tries'}`;
  const base = { tries: r.tries, answers };
  if (r.state === 'delivered') {
    const after = r.deferred ? `, after a deferral (${r.deferred.code ?? 'network'})` : '';
    return {
      verdict: 'delivered',
      why: `the server took it at ${human(r.final?.at)}:${said} (${tries}${after})`,
      ...base,
    };
  }
  if (r.state === 'failed') {
    return {
      verdict: 'refused',
      why: `refused at ${human(r.final?.at)}:${said} (${tries}); not retried`,
      ...base,
      ...(queued.dead ? { dead_letter: queued.dead } : {}),
    };
  }
  return {
    verdict: 'queued',
    why:
      `not delivered yet: deferred (${tries}), last answer${said || ' none'}` +
      (r.next_attempt !== undefined ? `; next try at ${human(r.next_attempt)}` : ''),
    ...base,
    ...(r.next_attempt !== undefined ? { next_attempt: iso(r.next_attempt) } : {}),
  };
}

/** Why the member was not among the post's recipients, from her options now. */
function notARecipient(facts: TraceFacts, post: PostFacts, poster?: string): MemberOutcome {
  const m = facts.memberNow;
  const why = (text: string): MemberOutcome => ({ verdict: 'not-a-recipient', why: text });
  if (!m) return why(`${facts.member} is not a member of ${facts.list} (now)`);
  if (m.nomail)
    return why(
      `nomail is on (set by ${m.nomail_reason ?? 'user'}): members with nomail get no posts`,
    );
  if (m.digest) {
    const d = post.digest;
    const where =
      d?.state === 'pending'
        ? `it waits for the next digest (${d.next})`
        : d?.state === 'sending'
          ? `it is in ${d.issue}, being sent`
          : `it went out in a digest${d?.state === 'none' && d.last ? ` (the last was ${d.last})` : ''}`;
    return why(`a digest member: ${where}`);
  }
  if (m.notmetoo && poster && sameAddress(poster, facts.member))
    return why('notmetoo is on and the post is her own');
  if (post.queue.length === 0)
    return {
      verdict: 'unknown',
      why: facts.queued
        ? 'no delivery record (finished records are kept for the queue keep_done_seconds, 7 days by default)'
        : "the list's distributor keeps no per-recipient record (only the queue does)",
    };
  return why(
    'not among the recipients: not a member when it was sent, or her options (nomail, digest) differed then',
  );
}

/** The member's side of one post. */
function memberOutcome(facts: TraceFacts, post: PostFacts, poster?: string): MemberOutcome {
  const found = findRecipient(facts, post);
  if (found) return fromQueue(found.queued, found.r);
  const outcomes = post.journal.map((j) => j.entry.outcome);
  const sent = outcomes.some((o) => o === 'distributed' || o === 'partial');
  if (!sent) {
    const held = post.held.at(-1);
    if (held && !held.decision)
      return {
        verdict: 'not-sent',
        why: `the post is held for a moderator since ${human(held.meta.at)}: ${held.meta.reason}`,
      };
    if (held?.decision && held.decision.action !== 'approve')
      return {
        verdict: 'not-sent',
        why: `the post was held, then ${held.decision.action === 'expire' ? 'expired' : `${held.decision.action}ed`} by ${held.decision.by} at ${human(held.decision.at)}`,
      };
    const last = post.journal.at(-1)?.entry;
    if (last && last.outcome !== 'held')
      return {
        verdict: 'not-sent',
        why: `the post was ${last.outcome}${last.reason ? `: ${last.reason}` : ''}${last.unit ? ` (unit ${last.unit})` : ''}`,
      };
    if (post.queue.length === 0 && post.journal.length === 0 && post.held.length === 0)
      return { verdict: 'unknown', why: 'nothing recorded of this post' };
  }
  return notARecipient(facts, post, poster);
}

function posterOf(post: PostFacts): string | undefined {
  const from = post.journal.find((j) => j.entry.from)?.entry.from ?? post.held[0]?.meta.from;
  return from ? (parseAddressList(from)[0]?.address ?? from) : undefined;
}

/** The trace of `facts.member` on `facts.list` for each post. */
export function assembleTrace(facts: TraceFacts): Trace {
  const m = facts.memberNow;
  return {
    list: facts.list,
    member: facts.member,
    membership: {
      member: m !== undefined,
      options: m ? OPTION_KEYS.filter((k) => m[k]) : [],
      ...(m?.nomail && m.nomail_reason ? { nomail_reason: m.nomail_reason } : {}),
    },
    ...(facts.bounce ? { bounce: facts.bounce } : {}),
    posts: facts.posts.map((post) => {
      const first = post.journal[0]?.entry;
      const held = post.held[0]?.meta;
      const from = first?.from ?? held?.from;
      const subject = first?.subject ?? held?.subject;
      const origin =
        first?.origin ?? (held ? `${held.origin.fetcher}:${held.origin.id}` : undefined);
      return {
        ...(post.messageId ? { message_id: post.messageId } : {}),
        ...(subject ? { subject } : {}),
        ...(from ? { from } : {}),
        ...(origin ? { origin } : {}),
        events: eventsOf(post),
        member: memberOutcome(facts, post, posterOf(post)),
      };
    }),
  };
}
