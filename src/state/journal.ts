/**
 * The journal of handled mail: one small file per (scope, message key), written durably.
 * `play()` consults it before processing, so a crash after distributing but before `ack()`
 * never sends a mail again, and records partial deliveries so a retry goes only to the
 * recipients still owed.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuthVerdict } from '../auth/verify.ts';
import { writeFileDurable } from './durable.ts';
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

export class Journal {
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
    const full: JournalEntry = { ...entry, at: new Date().toISOString() };
    await writeFileDurable(this.path(scope, key), JSON.stringify(full));
  }
}

/** Outcomes after which a mail needs nothing more. */
export function isFinal(entry: JournalEntry | undefined): boolean {
  return entry !== undefined && entry.outcome !== 'partial';
}
