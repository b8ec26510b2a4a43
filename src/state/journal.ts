/**
 * The journal of handled mail: one small file per (scope, message key), written durably.
 * `play()` consults it before processing, so a crash after distributing but before `ack()`
 * never sends a mail again, and records partial deliveries so a retry goes only to the
 * recipients still owed.
 */
import { readFile } from 'node:fs/promises';
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
}

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

  async record(scope: string, key: string, entry: Omit<JournalEntry, 'at'>): Promise<void> {
    const full: JournalEntry = { ...entry, at: new Date().toISOString() };
    await writeFileDurable(this.path(scope, key), JSON.stringify(full));
  }
}

/** Outcomes after which a mail needs nothing more. */
export function isFinal(entry: JournalEntry | undefined): boolean {
  return entry !== undefined && entry.outcome !== 'partial';
}
