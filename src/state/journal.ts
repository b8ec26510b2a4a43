/**
 * The journal of handled mail, keyed by (scope, message key). `play()` consults it before
 * processing, so a crash after distributing but before `ack()` never sends a mail again, and
 * records partial deliveries so a retry goes only to the recipients still owed. It is also
 * the arbiter between workers: `claim()` lets one process at a time handle a message key
 * (a post fetched by two workers — the same maildir copy, an MTA's retry — is handled once).
 *
 * Two implementations behind one `Journal` contract (test/storage/journal-contract.test.ts):
 * `FileJournal` here (one small file per record, written durably; the default), and
 * `PgJournal` in `pg-journal.ts` (rows, for workers on several hosts). `src/config/` picks.
 */
import { readdir, readFile, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuthVerdict } from '../auth/verify.ts';
import { ClaimError } from '../errors.ts';
import { isoTime } from '../mail/iso-time.ts';
import { writeFileDurable } from './durable.ts';
import { acquireLock, formatHolder } from './lock.ts';
import { safeName } from './safe-name.ts';

export type JournalOutcome =
  | 'distributed'
  | 'partial'
  | 'held'
  | 'rejected'
  | 'discarded'
  | 'quarantined';

export interface JournalEntry {
  outcome: JournalOutcome;
  /** ISO time of the record. */
  at: string;
  messageId?: string;
  /** Recipients that need nothing more (delivered, queued or failed for good). */
  done?: string[];
  /** A short reason (signal reason, error). */
  reason?: string;
  /** What the list verified of the post as it came in (DKIM, SPF, DMARC, ARC). */
  auth?: AuthVerdict;
  /** The lists the mail went to (a whole-mail record; `malist trace` finds posts by it). */
  lists?: string[];
  /** Where it was fetched from: `fetcher:id` (stdin, maildir:NAME, imap:INBOX:…). */
  origin?: string;
  /** The poster (From), the Subject: for a person reading `malist trace`. */
  from?: string;
  subject?: string;
  /** The unit that signalled (held, rejected, discarded). */
  unit?: string;
}

/** A journal record with its key, as `Journal.list` reads it. */
export interface KeyedJournalEntry {
  key: string;
  entry: JournalEntry;
}

/** How many records `Journal.recent` reads at once. */
const RECENT_BATCH = 32;

/** The scope of a whole fetched mail, before any list is known. */
export const MAIL_SCOPE = '_mail';

/** The right to handle one message key, until `release()`. */
export interface JournalClaim {
  release(): Promise<void>;
}

export interface ClaimOptions {
  /**
   * How long to wait for another live holder to finish, ms; then `claim` throws a temporary
   * error and the mail stays at its source for the next run. @default 120000
   */
  waitMs?: number;
}

/** What the loop, `malist trace` and the web read and write handled mail through. */
export interface Journal {
  get(scope: string, key: string): Promise<JournalEntry | undefined>;
  /**
   * The readable records of `scope`, newest first, down to `since` (ms) when given. The
   * caller stops when it has what it wants: only what it takes is read.
   */
  recent(scope: string, since?: number): AsyncGenerator<KeyedJournalEntry>;
  record(scope: string, key: string, entry: Omit<JournalEntry, 'at'>): Promise<void>;
  /** Writes `entry` as it is, its time included (`malist storage migrate`). */
  put(scope: string, key: string, entry: JournalEntry): Promise<void>;
  /** The scopes that hold records (`_mail` and list names). */
  scopes(): Promise<string[]>;
  /**
   * Waits until this process alone may handle `key` (a claim of this process's own is shared:
   * a nested play never waits for itself). A claim dies with its holder (the process, or its
   * database session), never by age: a dead holder's claim is taken over at once.
   */
  claim(scope: string, key: string, options?: ClaimOptions): Promise<JournalClaim>;
  /** Ends what the journal holds open (a database session). */
  close?(): Promise<void>;
}

/** The error `claim` throws when another live holder kept the key past the wait. */
export class ClaimBusy extends ClaimError {
  constructor(key: string, holder: string) {
    super(
      `message ${key} is being handled by another worker (${holder}); it stays at its source for the next run`,
    );
  }
}

/** Waits between claim attempts: short first (most handling is quick), then 200 ms. */
function claimBackoff(attempt: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.min(5 * 2 ** attempt, 200)));
}

/**
 * Claims of this process, counted: the second claim of a key this process holds shares it,
 * and the key is released when the last one is.
 */
export class HeldClaims {
  private readonly held = new Map<string, { count: number; release: () => Promise<void> }>();

  /** The shared claim when this process holds `id`, else undefined. */
  private share(id: string): JournalClaim | undefined {
    const mine = this.held.get(id);
    if (!mine) return undefined;
    mine.count++;
    return this.wrap(id);
  }

  /**
   * The claim on `id` (the message `key`): shared when this process holds it, else taken by
   * `attempt` (the release of a fresh claim, or who holds it), tried again until `waitMs`.
   */
  async take(
    id: string,
    key: string,
    options: ClaimOptions,
    attempt: () => Promise<{ release: () => Promise<void> } | { busy: string }>,
  ): Promise<JournalClaim> {
    const deadline = Date.now() + (options.waitMs ?? 120_000);
    for (let tries = 0; ; tries++) {
      // Held by this process (maybe taken meanwhile by another of its plays): shared.
      const shared = this.share(id);
      if (shared) return shared;
      const taken = await attempt();
      if ('release' in taken) {
        this.held.set(id, { count: 1, release: taken.release });
        return this.wrap(id);
      }
      if (Date.now() > deadline) throw new ClaimBusy(key, taken.busy);
      await claimBackoff(tries);
    }
  }

  private wrap(id: string): JournalClaim {
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        const mine = this.held.get(id);
        if (!mine || --mine.count > 0) return;
        this.held.delete(id);
        await mine.release();
      },
    };
  }
}

/** The journal as files in `dir` (state_dir/journal): the default. */
export class FileJournal implements Journal {
  private readonly claims = new HeldClaims();
  constructor(readonly dir: string) {}

  private path(scope: string, key: string): string {
    const name = safeName(key);
    return join(this.dir, safeName(scope), name.slice(0, 2), `${name}.json`);
  }

  async get(scope: string, key: string): Promise<JournalEntry | undefined> {
    try {
      return JSON.parse(await readFile(this.path(scope, key), 'utf8')) as JournalEntry;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      // A torn or unreadable record cannot say "handled": treat it as absent, loudly upstream.
      if (error instanceof SyntaxError) return undefined;
      throw error;
    }
  }

  /**
   * The readable records of `scope`, newest first (by the file's time, which is the
   * record's), down to `since` (ms) when given; a torn one is left out. The caller stops
   * when it has what it wants: only the files it takes are read.
   */
  async *recent(scope: string, since?: number): AsyncGenerator<KeyedJournalEntry> {
    const base = join(this.dir, safeName(scope));
    const files: Array<{ path: string; name: string; time: number }> = [];
    // No scope directory: nothing recorded yet. Anything else (EACCES) is the caller's to say.
    const shards = await readdir(base).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [] as string[];
      throw error;
    });
    for (const shard of shards) {
      const names = (await readdir(join(base, shard)).catch(() => [] as string[])).filter((n) =>
        n.endsWith('.json'),
      );
      const times = await Promise.all(
        names.map((n) =>
          stat(join(base, shard, n)).then(
            (s) => s.mtimeMs,
            () => undefined,
          ),
        ),
      );
      names.forEach((name, i) => {
        const time = times[i];
        if (time !== undefined && (since === undefined || time >= since))
          files.push({ path: join(base, shard, name), name, time });
      });
    }
    files.sort((a, b) => b.time - a.time);
    // Read a few at once (the disk, not the parse, is the cost), handed out in order.
    const read = ({ path }: { path: string }) =>
      readFile(path, 'utf8')
        .then(
          (text) => JSON.parse(text) as JournalEntry,
          () => undefined, // vanished
        )
        .catch(() => undefined); // torn: it says nothing
    for (let i = 0; i < files.length; i += RECENT_BATCH) {
      const batch = files.slice(i, i + RECENT_BATCH);
      const entries = await Promise.all(batch.map(read));
      for (const [j, entry] of entries.entries())
        if (entry) yield { key: batch[j]!.name.slice(0, -'.json'.length), entry };
    }
  }

  async record(scope: string, key: string, entry: Omit<JournalEntry, 'at'>): Promise<void> {
    await this.put(scope, key, { ...entry, at: isoTime(Date.now()) });
  }

  async put(scope: string, key: string, entry: JournalEntry): Promise<void> {
    const path = this.path(scope, key);
    await writeFileDurable(path, JSON.stringify(entry));
    // The file's time is the record's (recent() orders by it): a migrated record keeps its own.
    const at = new Date(entry.at);
    if (Number.isFinite(at.getTime()) && Date.now() - at.getTime() > 1000)
      await utimes(path, at, at).catch(() => {});
  }

  /**
   * The scopes, by their directories: a list's is its name (list names are plain names);
   * `_mail`'s is its safe name, which is given back as `_mail` (else a migration would move
   * the whole-mail records under a scope nobody reads).
   */
  async scopes(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const mail = safeName(MAIL_SCOPE);
    return names
      .filter((n) => !n.startsWith('.'))
      .map((n) => (n === mail ? MAIL_SCOPE : n))
      .sort();
  }

  /**
   * A lock file beside the record (`NAME.claim`, naming host, PID and start time): taken
   * over only when its holder is provably gone (src/state/lock.ts). Not fsynced — a claim
   * need not survive a crash, its holder does not either.
   */
  async claim(scope: string, key: string, options: ClaimOptions = {}): Promise<JournalClaim> {
    const path = this.path(scope, key).replace(/\.json$/, '.claim');
    return this.claims.take(path, key, options, async () => {
      const taken = await acquireLock(path);
      if ('lock' in taken) return { release: () => taken.lock.release() };
      return { busy: taken.busy ? formatHolder(taken.busy) : 'another process' };
    });
  }
}

/** Outcomes after which a mail needs nothing more. */
export function isFinal(entry: JournalEntry | undefined): boolean {
  return entry !== undefined && entry.outcome !== 'partial';
}
