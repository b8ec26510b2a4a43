/**
 * `malist storage migrate`'s part for the lists' smaller state: request memos, the daily
 * notice counts, post counters and digest collections (pending posts and the last issue
 * number), copied between the files under state_dir and the database's rows, either way.
 * Like the rest of the migration it copies and never deletes: what the target holds already
 * is left as it is (a counter or a last issue number is only ever raised), and a real run
 * counts again on the target afterwards.
 *
 * A digest issue being sent at the source (claimed, not finished) is not copied: send it
 * first (`malist digest`); its posts are counted as missing until then, so the run fails.
 */
import type { LoadedConfig } from '../config/load.ts';
import { type ListState, listStateFor } from '../config/storage.ts';
import type { DigestCollection, DigestIssue } from '../digest/store.ts';
import { keyOfName } from '../digest/store.ts';
import type { StoredCounter } from '../state/counters.ts';
import type { MigrationLine } from './storage-migrate.ts';
import { sides } from './storage-migrate-each.ts';

type Counts = Omit<MigrationLine, 'what' | 'label'>;

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function copyMemos(from: ListState, to: ListState, dryRun: boolean): Promise<Counts> {
  const memos = await collect(from.memos.all());
  const there = async () => {
    let n = 0;
    for (const m of memos) if (await to.memos.get(m.list, m.key)) n++;
    return n;
  };
  const present = await there();
  if (dryRun) return { source: memos.length, present, copied: 0 };
  let copied = 0;
  for (const m of memos) {
    if (await to.memos.get(m.list, m.key)) continue;
    await to.memos.put(m.list, m.key, m.memo, m.at);
    copied++;
  }
  return { source: memos.length, present, copied, target: await there() };
}

async function copyNoticeCounts(from: ListState, to: ListState, dryRun: boolean): Promise<Counts> {
  const counts = await collect(from.noticeCounts.all());
  const there = async () => {
    const have = new Map(
      (await collect(to.noticeCounts.all())).map((c) => [`${c.day} ${c.mailbox}`, c.count]),
    );
    return counts.filter((c) => (have.get(`${c.day} ${c.mailbox}`) ?? 0) >= c.count).length;
  };
  const present = await there();
  if (dryRun) return { source: counts.length, present, copied: 0 };
  const before = present;
  for (const c of counts) await to.noticeCounts.raise(c.day, c.mailbox, c.count);
  const target = await there();
  return { source: counts.length, present, copied: target - before, target };
}

/** Whether `have` holds everything of `want` (its next number, and its recent keys). */
function covers(have: StoredCounter | undefined, want: StoredCounter): boolean {
  if (!have || have.next < want.next) return false;
  const keys = new Set(have.recent.map(([k]) => k));
  return want.recent.every(([k]) => keys.has(k));
}

async function copyCounters(from: ListState, to: ListState, dryRun: boolean): Promise<Counts> {
  const counters = await collect(from.counters.all());
  const there = async () => {
    const have = new Map((await collect(to.counters.all())).map((c) => [c.list, c]));
    return counters.filter((c) => covers(have.get(c.list), c)).length;
  };
  const present = await there();
  if (dryRun) return { source: counters.length, present, copied: 0 };
  let copied = 0;
  for (const c of counters) if (await to.counters.merge(c)) copied++;
  return { source: counters.length, present, copied, target: await there() };
}

/** A list's collected posts (pending, and the last number as one more record). */
async function copyDigest(
  from: DigestCollection,
  to: DigestCollection,
  dryRun: boolean,
): Promise<Counts & { open: boolean }> {
  const open = await from.openIssue();
  const pending = await from.pending();
  const last = await from.last();
  const wanted = [...pending.map((p) => keyOfName(p.name)), ...(open?.posts.map(keyOfName) ?? [])];
  const there = async () => {
    const held = [
      ...(await to.pending()).map((p) => p.name),
      ...((await to.openIssue())?.posts ?? []),
    ];
    const have = new Set(held.map(keyOfName));
    const toLast = await to.last();
    const lastThere =
      last &&
      toLast &&
      (toLast.volume > last.volume ||
        (toLast.volume === last.volume && toLast.issue >= last.issue));
    return wanted.filter((k) => have.has(k)).length + (last && lastThere ? 1 : 0);
  };
  const source = wanted.length + (last ? 1 : 0);
  const present = await there();
  if (dryRun) return { source, present, copied: 0, open: Boolean(open) };
  let copied = 0;
  if (last && (await to.mergeLast(last))) copied++;
  for (const p of pending) {
    // One post's bytes, read as an issue of one (both backends read issues' posts).
    const one: DigestIssue = {
      number: last ?? { volume: 0, issue: 0, year: 0 },
      posts: [p.name],
      date: '',
    };
    const [bytes] = await from.postBytes(one);
    if (bytes && (await to.add(keyOfName(p.name), bytes, p.time))) copied++;
  }
  return { source, present, copied, target: await there(), open: Boolean(open) };
}

/** Copies memos, notice counts, post counters and the digests of `lists` from `from` to `to`. */
export async function migrateListState(
  from: ListState,
  to: ListState,
  lists: readonly string[],
  dryRun: boolean,
): Promise<MigrationLine[]> {
  // A part with nothing at the source says nothing (an installation without digests or
  // numbered prefixes is not told about them).
  const lines: MigrationLine[] = [
    { what: 'memos', label: 'request memos', ...(await copyMemos(from, to, dryRun)) },
    { what: 'notices', label: 'notice counts', ...(await copyNoticeCounts(from, to, dryRun)) },
    { what: 'counters', label: 'post counters', ...(await copyCounters(from, to, dryRun)) },
  ].filter((l) => l.source > 0);
  for (const list of lists) {
    const { open, ...counts } = await copyDigest(
      await from.digest(list),
      await to.digest(list),
      dryRun,
    );
    if (counts.source === 0) continue;
    const label = open
      ? `digest of ${list} (an issue is being sent: run \`malist digest --list ${list}\` first)`
      : `digest of ${list} (posts and last issue)`;
    lines.push({ what: `digest:${list}`, label, ...counts });
  }
  return lines;
}

/** The lists' smaller state of `config` towards `to` (the files under state_dir, or the rows). */
export async function migrateMiscStorage(
  config: LoadedConfig,
  to: 'postgres' | 'files',
  dryRun: boolean,
): Promise<MigrationLine[]> {
  const [from, into] = await sides(config, to, listStateFor);
  return migrateListState(
    from,
    into,
    config.lists.map((l) => l.name),
    dryRun,
  );
}
