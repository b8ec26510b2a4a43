/**
 * A list's digest in the making, on disk (`STATE/digest/LIST/`): posts waiting in
 * `pending/` (one file each, named by arrival time and key, so adding twice is a no-op),
 * and an issue being sent in `issue.json` — written before sending, so a crash mid-send
 * resends the same issue (same posts, same number, same key: the distributor sends once),
 * then `last.json` holds the last number sent.
 *
 * `DigestCollection` is what the collector, `malist digest` and `trace` use; this class is
 * its files, pg-store.ts its PostgreSQL rows (several hosts, each issue sent once).
 */
import { readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ClaimError } from '../errors.ts';
import { writeFileDurable } from '../state/durable.ts';
import { safeName } from '../state/safe-name.ts';
import { type DigestNumber, nextNumber } from './numbering.ts';

export interface DigestIssue {
  number: DigestNumber;
  /** Pending file names in this issue, oldest first. */
  posts: string[];
  /** ISO date of the issue. */
  date: string;
}

export interface PendingPost {
  name: string;
  size: number;
  /** Arrival time (ms), from the name. */
  time: number;
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** One list's digest in the making, wherever it is kept. */
export interface DigestCollection {
  /** Adds a post (its bytes as distributed); a post already collected is not added again. */
  add(key: string, bytes: Buffer, now?: number): Promise<boolean>;
  /** Posts waiting for the next issue, oldest first. */
  pending(): Promise<PendingPost[]>;
  /** The number of the last issue sent. */
  last(): Promise<DigestNumber | undefined>;
  /** The issue being sent (claimed, not finished), if any. */
  openIssue(): Promise<DigestIssue | undefined>;
  /**
   * The issue to send: the open one (after a crash), or a new one of the pending posts;
   * undefined when there is none — or, where several processes share the collection, when
   * another is sending it now.
   */
  claim(date: Date, maxPosts?: number): Promise<DigestIssue | undefined>;
  postBytes(issue: DigestIssue): Promise<Buffer[]>;
  /**
   * Where several processes share the collection: whether this process still holds its
   * claim on `issue` (its session may have been cut, and another process may have taken the
   * issue over). Checked before each send; absent where one process sends at a time.
   */
  stillClaimed?(issue: DigestIssue): Promise<boolean>;
  /**
   * The issue went out: record its number, drop its posts, close it. Where the claim can be
   * lost (see `stillClaimed`), refuses with a DigestClaimLost when it was: the issue stays
   * open for the process that took it over.
   */
  finish(issue: DigestIssue): Promise<void>;
  /** Sending the claimed issue failed: it stays open for the next try (by any process). */
  release?(issue: DigestIssue): Promise<void>;
  /** Takes `number` as the last issue sent unless a later one is (a migration's copy). */
  mergeLast(number: DigestNumber): Promise<boolean>;
}

/**
 * A send refused: this process's claim on the issue went with its database session (a cut
 * connection, a restarted server), so another process may be sending the issue now.
 * Temporary: the issue stays open, and whoever holds the claim sends and closes it.
 */
export class DigestClaimLost extends ClaimError {
  constructor(list: string, number: DigestNumber, what: string) {
    super(
      `${list}: the claim on digest Vol ${number.volume}, Issue ${number.issue} was lost with its database session; ${what} — the issue stays open for the process that took it over`,
    );
    this.name = 'DigestClaimLost';
  }
}

/** Whether issue `a` comes after issue `b`. */
export function laterIssue(a: DigestNumber, b: DigestNumber | undefined): boolean {
  return !b || a.volume > b.volume || (a.volume === b.volume && a.issue > b.issue);
}

/** The file name a pending post has (and the PostgreSQL rows show): arrival, then key. */
export function pendingName(time: number, key: string): string {
  return `${String(time).padStart(15, '0')}-${key}.eml`;
}

/** A mail key as the collection keeps it (safe in a file name, at most 64 characters). */
export function collectedKey(key: string): string {
  return safeName(key).slice(0, 64);
}

/** The collected key in a pending name. */
export function keyOfName(name: string): string {
  return name.slice(16, -'.eml'.length);
}

export class DigestStore implements DigestCollection {
  readonly dir: string;
  constructor(stateDir: string, list: string) {
    this.dir = join(stateDir, 'digest', safeName(list));
  }

  private get pendingDir(): string {
    return join(this.dir, 'pending');
  }

  /** Adds a post (its bytes as distributed); a post already there is not added again. */
  async add(key: string, bytes: Buffer, now = Date.now()): Promise<boolean> {
    const suffix = `-${collectedKey(key)}.eml`;
    const names = await readdir(this.pendingDir).catch(() => [] as string[]);
    if (names.some((n) => n.endsWith(suffix))) return false;
    const issue = await this.openIssue();
    if (issue?.posts.some((n) => n.endsWith(suffix))) return false;
    await writeFileDurable(join(this.pendingDir, pendingName(now, collectedKey(key))), bytes);
    return true;
  }

  async pending(): Promise<PendingPost[]> {
    const names = (await readdir(this.pendingDir).catch(() => [] as string[]))
      .filter((n) => n.endsWith('.eml'))
      .sort();
    return Promise.all(
      names.map(async (name) => ({
        name,
        size: (await stat(join(this.pendingDir, name))).size,
        time: Number(name.slice(0, 15)),
      })),
    );
  }

  async last(): Promise<DigestNumber | undefined> {
    return readJson<DigestNumber>(join(this.dir, 'last.json'));
  }

  async openIssue(): Promise<DigestIssue | undefined> {
    return readJson<DigestIssue>(join(this.dir, 'issue.json'));
  }

  /** The issue to send: the open one (after a crash), or a new one of all pending posts. */
  async claim(date: Date, maxPosts = 500): Promise<DigestIssue | undefined> {
    const open = await this.openIssue();
    if (open) return open;
    const pending = await this.pending();
    if (pending.length === 0) return undefined;
    const issue: DigestIssue = {
      number: nextNumber(await this.last(), date),
      posts: pending.slice(0, maxPosts).map((p) => p.name),
      date: date.toISOString(),
    };
    await writeFileDurable(join(this.dir, 'issue.json'), JSON.stringify(issue));
    return issue;
  }

  async postBytes(issue: DigestIssue): Promise<Buffer[]> {
    const out: Buffer[] = [];
    for (const name of issue.posts) {
      const bytes = await readFile(join(this.pendingDir, name)).catch(() => undefined);
      if (bytes) out.push(bytes);
    }
    return out;
  }

  async mergeLast(number: DigestNumber): Promise<boolean> {
    if (!laterIssue(number, await this.last())) return false;
    await writeFileDurable(join(this.dir, 'last.json'), JSON.stringify(number));
    return true;
  }

  /** The issue went out: record its number, drop its posts, close it. */
  async finish(issue: DigestIssue): Promise<void> {
    await writeFileDurable(join(this.dir, 'last.json'), JSON.stringify(issue.number));
    for (const name of issue.posts) await unlink(join(this.pendingDir, name)).catch(() => {});
    await unlink(join(this.dir, 'issue.json')).catch(() => {});
  }
}
