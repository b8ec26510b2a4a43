/**
 * The figures behind the statistics pages and the lists overview, read from what malist
 * already keeps: the delivery log (per list and day: posts distributed and held — each
 * Message-ID once — and recipients delivered or queued, deferred and refused at each
 * post's first round), the held store (age of each held post), the bounce state (each
 * member's decayed score) and the spool (age of each queue entry, dead letters). Without
 * a delivery log, posts per day come from the list's journal records, which only a mail
 * sent to several lists has (a mail for one list is journaled once, under no list name):
 * the page says so. Journal and log are read at most once a minute; the rest is small and
 * read as asked.
 */
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { type ComplaintStanding, complaintStanding } from '../bounces/complaints.ts';
import { decayedScore } from '../bounces/score.ts';
import { heldStore } from '../moderation/held.ts';
import { parseDeliveryLine } from '../state/delivery-log-line.ts';
import type { Journal } from '../state/journal.ts';
import type { SiteState, WebList } from './site.ts';

const DAY = 86_400_000;

export interface Day {
  day: string;
  posts: number;
  held: number;
  delivered: number;
  deferred: number;
  refused: number;
}

export interface Bucket {
  label: string;
  count: number;
}

export interface ListStats {
  days: Day[];
  heldAge: Bucket[];
  bounceScores: Bucket[];
  queueAge: Bucket[];
  deadLetters: number;
  /** Spam complaints the sending services reported today, over the day's deliveries. */
  complaints: ComplaintStanding;
  /** Where the per-day delivery figures come from, or why there are none. */
  deliverySource: string;
  /** Where the posts per day come from. */
  postsSource: string;
}

const AGE_BUCKETS: Array<[string, number]> = [
  ['< 1 h', 3_600_000],
  ['1–6 h', 6 * 3_600_000],
  ['6–24 h', DAY],
  ['1–3 d', 3 * DAY],
  ['3–7 d', 7 * DAY],
  ['> 7 d', Number.POSITIVE_INFINITY],
];

export function ageBuckets(ages: number[]): Bucket[] {
  const buckets = AGE_BUCKETS.map(([label]) => ({ label, count: 0 }));
  for (const age of ages) {
    const i = AGE_BUCKETS.findIndex(([, upTo]) => age < upTo);
    buckets[i === -1 ? buckets.length - 1 : i]!.count++;
  }
  return buckets;
}

/** The last `n` UTC days, oldest first, as YYYY-MM-DD. */
export function lastDays(n: number, now: number): string[] {
  return Array.from({ length: n }, (_, i) =>
    new Date(now - (n - 1 - i) * DAY).toISOString().slice(0, 10),
  );
}

const cache = new Map<string, { until: number; value: Promise<unknown> }>();
function remembered<T>(key: string, now: number, make: () => Promise<T>): Promise<T> {
  const known = cache.get(key);
  if (known && known.until > now) return known.value as Promise<T>;
  const value = make();
  cache.set(key, { until: now + 60_000, value });
  value.catch(() => cache.delete(key));
  return value;
}

/** Posts distributed and held per day, from the list's journal records (files or rows). */
async function journalDays(journal: Journal, list: string, since: number) {
  const perDay = new Map<string, { posts: number; held: number }>();
  for await (const { entry } of journal.recent(list, since)) {
    const at = Date.parse(entry.at);
    if (!(at >= since)) continue;
    const day = entry.at.slice(0, 10);
    const d = perDay.get(day) ?? { posts: 0, held: 0 };
    if (entry.outcome === 'distributed' || entry.outcome === 'partial') d.posts++;
    else if (entry.outcome === 'held') d.held++;
    perDay.set(day, d);
  }
  return perDay;
}

interface LogDay {
  delivered: number;
  refused: number;
  deferred: number;
  /** Message-IDs distributed (or partly) and held this day: a post counts once a day. */
  posts: Set<string>;
  held: Set<string>;
}

/** Per list and day, from the delivery log: recipients, and the posts distributed and held. */
async function deliveryDays(file: string, since: string) {
  const perList = new Map<string, Map<string, LogDay>>();
  const lines = createInterface({
    input: createReadStream(file),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let n = 0;
  for await (const text of lines) {
    n++;
    const line = parseDeliveryLine(text);
    // A queue run's `outcome=queue-run` lines are left out: the post's own line counted its
    // queued recipients already.
    if (!line || line.outcome === 'queue-run' || line.day < since) continue;
    const days = perList.get(line.list) ?? new Map<string, LogDay>();
    perList.set(line.list, days);
    const d = days.get(line.day) ?? {
      delivered: 0,
      refused: 0,
      deferred: 0,
      posts: new Set<string>(),
      held: new Set<string>(),
    };
    d.delivered += line.recipients;
    d.refused += line.refused;
    d.deferred += line.deferred;
    // A line without a Message-ID is a post of its own.
    const id = line.messageId ?? `line ${n}`;
    if (line.outcome === 'distributed' || line.outcome === 'partial') d.posts.add(id);
    else if (line.outcome === 'held') d.held.add(id);
    days.set(line.day, d);
  }
  return perList;
}

function logDays(state: SiteState, since: string, now: number) {
  const file = state.config.main?.delivery_log;
  if (!file) return undefined;
  return remembered(`log:${file}`, now, () =>
    deliveryDays(file, since).catch(() => new Map<string, Map<string, LogDay>>()),
  );
}

/** Posts distributed in the last `days` days (for the overview). */
export async function postsSince(state: SiteState, list: string, days: number, now = Date.now()) {
  const from = new Date(now - days * DAY).toISOString().slice(0, 10);
  let posts = 0;
  const log = await logDays(state, lastDays(30, now)[0]!, now);
  if (log) {
    for (const [day, d] of log.get(list) ?? []) if (day > from) posts += d.posts.size;
    return posts;
  }
  const stateDir = state.runtime.stateDir;
  const perDay = await remembered(`journal:${stateDir}:${list}`, now, () =>
    journalDays(state.runtime.journal, list, now - 30 * DAY),
  );
  for (const [day, d] of perDay) if (day > from) posts += d.posts;
  return posts;
}

export async function listStats(
  state: SiteState,
  list: WebList,
  now = Date.now(),
): Promise<ListStats> {
  const stateDir = state.runtime.stateDir;
  const days = lastDays(30, now);
  const logFile = state.config.main?.delivery_log;
  const log = await logDays(state, days[0]!, now);
  const journal = log
    ? undefined
    : await remembered(`journal:${stateDir}:${list.name}`, now, () =>
        journalDays(state.runtime.journal, list.name, now - 30 * DAY),
      );
  const ofList = log?.get(list.name) ?? new Map<string, LogDay>();
  const held = await heldStore(state.runtime.moderation, list.name).list();
  const bounces = await state.runtime.bounces.records(list.name).all();
  const threshold = list.settings.bounces?.threshold ?? 5;
  const scores = Object.values(bounces).map((r) => decayedScore(r, now, list.settings.bounces));
  const entries = (await Promise.all(state.queues.map((q) => q.list()))).flat();
  const mine = entries.filter((e) => e.envelope.list === list.name);
  return {
    days: days.map((day) => ({
      day,
      posts: journal ? (journal.get(day)?.posts ?? 0) : (ofList.get(day)?.posts.size ?? 0),
      held: journal ? (journal.get(day)?.held ?? 0) : (ofList.get(day)?.held.size ?? 0),
      delivered: ofList.get(day)?.delivered ?? 0,
      deferred: ofList.get(day)?.deferred ?? 0,
      refused: ofList.get(day)?.refused ?? 0,
    })),
    heldAge: ageBuckets(held.map((m) => now - Date.parse(m.at))),
    bounceScores: scoreBuckets(scores, threshold),
    queueAge: ageBuckets(
      mine.filter((e) => e.where !== 'dead').map((e) => now - e.envelope.created),
    ),
    deadLetters: mine.filter((e) => e.where === 'dead').length,
    complaints: await complaintStanding(
      state.runtime.bounces.complaints(list.name),
      state.runtime.bounces.sent,
      list.name,
      now,
    ),
    deliverySource: logFile
      ? `the delivery log (${basename(logFile)})` // not the server's paths to list staff
      : 'none: set delivery_log in malist.yaml to count deliveries per day',
    postsSource: logFile
      ? `the delivery log (${basename(logFile)})`
      : 'the journal (only mail sent to several lists: set delivery_log in malist.yaml to count every post)',
  };
}

/** Members by bounce score: 0–1, 1–2, … up to the threshold, and at or past it. */
export function scoreBuckets(scores: number[], threshold: number): Bucket[] {
  const steps = Math.max(1, Math.ceil(threshold));
  const buckets: Bucket[] = Array.from({ length: steps }, (_, i) => ({
    label: `${i}–${i + 1}`,
    count: 0,
  }));
  buckets.push({ label: `≥ ${threshold} (nomail)`, count: 0 });
  for (const s of scores) {
    if (s >= threshold) buckets[steps]!.count++;
    else buckets[Math.min(steps - 1, Math.floor(s))]!.count++;
  }
  return buckets;
}
