import { readBounceStatus } from '../bounces/status.ts';
import type { BounceStore } from '../bounces/store.ts';
import type { LoadedList } from '../config/load.ts';
import { digestTitle, nextNumber } from '../digest/numbering.ts';
import { type DigestCollection, DigestStore } from '../digest/store.ts';
import { normalizeAddress } from '../mail/address.ts';
import type { MemberStore } from '../members/store.ts';
import { type Decision, doneStore, heldStore, type ModerationContext } from '../moderation/held.ts';
import type { DigestFact, HeldFact, PostFacts, TraceFacts } from '../moderation/trace.ts';
import type { QueueStore } from '../queue/store.ts';
import { type Journal, type KeyedJournalEntry, MAIL_SCOPE } from '../state/journal.ts';

export interface TraceQuery {
  stateDir: string;
  /** The list's bounce records (files or PostgreSQL, as the runtime has them). */
  bounces: BounceStore;
  /** The journal of handled mail (files or PostgreSQL, as the runtime has it). */
  journal: Journal;
  /** Where held posts live (files or PostgreSQL, as the runtime has it). @default the files */
  held?: ModerationContext['storage'];
  /** A list's digest collection (files or PostgreSQL, as the runtime has it). @default the files */
  digest?: (list: string) => Promise<DigestCollection>;
  list: LoadedList;
  member: string;
  store: MemberStore | undefined;
  /** The stores of the configured queues (spools, or tables on PostgreSQL). */
  spools: Array<Pick<QueueStore, 'queuedPosts'>>;
  messageId?: string;
  /** Posts handled at or after this time (ms). */
  since?: number;
  /** Without messageId or since: this many of the latest posts. */
  last: number;
  /** The list's archive, when there is one: the archived post with this Message-ID. */
  archived?(
    messageId: string,
  ):
    | Promise<{ file: string; date: number } | undefined>
    | { file: string; date: number }
    | undefined;
}

const bare = (id: string) => id.replace(/^<|>$/g, '').trim().toLowerCase();

/**
 * The list's journal records that the query selects, newest first: by Message-ID (every
 * record read), since a time (the records since then), or the latest `last` posts.
 */
async function journalRecords(q: TraceQuery): Promise<KeyedJournalEntry[]> {
  const { journal } = q;
  const wanted = q.messageId ? bare(q.messageId) : undefined;
  const enough = (found: KeyedJournalEntry[]) =>
    wanted === undefined && q.since === undefined && found.length >= q.last;
  const take = async (scope: string, keep: (r: KeyedJournalEntry) => boolean) => {
    const found: KeyedJournalEntry[] = [];
    for await (const r of journal.recent(scope, q.since)) {
      if (wanted !== undefined && bare(r.entry.messageId ?? '') !== wanted) continue;
      if (!keep(r)) continue;
      found.push(r);
      if (enough(found)) break;
    }
    return found;
  };
  const ofList = await take(q.list.name, () => true);
  // A cross-post has a record per list; its whole-mail record says the same, less exactly.
  const perList = new Set(ofList.map((r) => r.entry.messageId).filter(Boolean));
  const whole = await take(
    MAIL_SCOPE,
    (r) =>
      !(r.entry.messageId && perList.has(r.entry.messageId)) &&
      (r.entry.lists?.includes(q.list.name) === true ||
        // Records written before lists were journaled (or of mail no list took) count
        // only when asked for by Message-ID.
        (wanted !== undefined && r.entry.lists === undefined)),
  );
  return [...ofList, ...whole];
}

/** The list's held posts (still held, or decided) that the query selects. */
async function heldPosts(q: TraceQuery): Promise<HeldFact[]> {
  const ctx: ModerationContext = {
    stateDir: q.stateDir,
    pipeline: () => undefined,
    ...(q.held ? { storage: q.held } : {}),
  };
  const wanted = q.messageId ? bare(q.messageId) : undefined;
  const held = [
    ...(await heldStore(ctx, q.list.name).list()),
    ...(await doneStore(ctx, q.list.name).list()),
  ];
  return held
    .filter((m) => (wanted === undefined ? true : bare(m.messageId ?? '') === wanted))
    .filter((m) => q.since === undefined || Date.parse(m.at) >= q.since)
    .map((meta) => {
      const decision = meta.extra?.decision as Decision | undefined;
      return { meta, ...(decision ? { decision } : {}) };
    });
}

/** Journal records and held posts grouped into posts by Message-ID, oldest first. */
function groupPosts(records: KeyedJournalEntry[], held: HeldFact[]): PostFacts[] {
  const posts = new Map<string, PostFacts>();
  const postOf = (messageId: string | undefined, key: string) => {
    const id = messageId ? `id:${bare(messageId)}` : `key:${key}`;
    let post = posts.get(id);
    if (!post) {
      post = { ...(messageId ? { messageId } : {}), journal: [], held: [], queue: [] };
      posts.set(id, post);
    }
    return post;
  };
  for (const r of records) postOf(r.entry.messageId, r.key).journal.push(r);
  for (const h of held) postOf(h.meta.messageId, h.meta.id).held.push(h);
  const first = (p: PostFacts) => p.journal[0]?.entry.at ?? p.held[0]?.meta.at ?? '';
  for (const p of posts.values()) p.journal.sort((a, b) => a.entry.at.localeCompare(b.entry.at));
  return [...posts.values()].sort((a, b) => first(a).localeCompare(first(b)));
}

/** Where the digest stands with `post` (for a digest member). */
async function digestOf(q: TraceQuery, post: PostFacts, now: number): Promise<DigestFact> {
  const store = q.digest ? await q.digest(q.list.name) : new DigestStore(q.stateDir, q.list.name);
  const name = q.list.settings.display_name ?? q.list.name;
  const keys = post.journal.map((j) => j.key.split('-')[0]!.slice(0, 64));
  const has = (file: string) => keys.some((k) => file.endsWith(`-${k}.eml`));
  const issue = await store.openIssue();
  if (issue?.posts.some(has)) return { state: 'sending', issue: digestTitle(name, issue.number) };
  const last = await store.last();
  if ((await store.pending()).some((p) => has(p.name)))
    return { state: 'pending', next: digestTitle(name, nextNumber(last, new Date(now))) };
  return { state: 'none', ...(last ? { last: digestTitle(name, last) } : {}) };
}

/** Reads every fact the trace of `q.member` on `q.list` needs. */
export async function gatherTraceFacts(q: TraceQuery, now: number): Promise<TraceFacts> {
  let posts = groupPosts(await journalRecords(q), await heldPosts(q));
  if (!q.messageId && q.since === undefined) posts = posts.slice(-q.last);
  const ids = posts.flatMap((p) => (p.messageId ? [p.messageId] : []));
  if (ids.length > 0)
    for (const spool of q.spools)
      for (const queued of await spool.queuedPosts(q.list.name, ids))
        posts
          .find((p) => p.messageId && bare(p.messageId) === bare(queued.message_id ?? ''))
          ?.queue.push(queued);
  // Asked by Message-ID, a post only the queue knows (its journal purged, say) is shown too.
  if (q.messageId && posts.length === 0)
    for (const spool of q.spools) {
      const queued = await spool.queuedPosts(q.list.name, [q.messageId]);
      if (queued.length > 0)
        posts.push({ messageId: q.messageId, journal: [], held: [], queue: queued });
    }
  for (const post of posts) {
    const archived = post.messageId ? await q.archived?.(post.messageId) : undefined;
    if (archived) post.archived = { file: archived.file, date: archived.date };
  }
  const memberNow = await q.store?.get(q.member);
  if (memberNow?.digest) for (const post of posts) post.digest = await digestOf(q, post, now);
  const bounces = await readBounceStatus(q.bounces, q.list.settings.bounces, now);
  const bounce = bounces.get(normalizeAddress(q.member) || q.member);
  return {
    list: q.list.name,
    member: q.member,
    ...(memberNow ? { memberNow } : {}),
    ...(bounce ? { bounce } : {}),
    queued: q.spools.length > 0,
    posts,
  };
}
