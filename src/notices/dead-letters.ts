/**
 * The list owner hears of dead letters by mail, not only in a log: every recipient the
 * queue gives up on (a 5xx, or expiry) is appended to a per-list file under the state
 * directory, and at most one notice per list per `every_seconds` (default an hour) sums
 * up all of them since the last notice. The send and the bookkeeping happen under one
 * file lock per list, so parallel runners (`malist receive` per mail, cron overlapping
 * `watch`) send one notice between them, never one each; a runner that finds the period
 * not over leaves the recipients for the next notice. A crash between the send and the
 * bookkeeping repeats a notice rather than losing one.
 *
 * Files: STATE/notices/dead-letters/<list>.jsonl (pending) and <list>.json ({ last_sent }).
 */
import { appendFile, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ownerAddress } from '../list/addresses.ts';
import type { ListSettings } from '../list/settings.ts';
import { replyText } from '../mail/smtp-reply.ts';
import { writeFileDurable } from '../state/durable.ts';
import { withFileLock } from '../state/lock.ts';
import { safeName } from '../state/safe-name.ts';
import { sendListNotice } from './list-notices.ts';
import type { NoticeOutlet } from './send.ts';

/** One recipient given up on (the queue's RecipientFailure, as stored). */
export interface DeadLetterEvent {
  list?: string;
  entryId: string;
  messageId?: string;
  recipient: string;
  code?: number;
  response?: string;
  reason: 'refused' | 'expired';
}

export interface DeadLetterNoticeOptions {
  /** The state directory (`notices/dead-letters/` under it). */
  stateDir: string;
  /** The lists, by short name: whose owners are told. */
  lists: Record<string, ListSettings>;
  outlet: NoticeOutlet;
  /** At most one notice per list this often, seconds. @default 3600 */
  every_seconds?: number;
  /** Where the dead letters are, for the text. */
  where?: string;
  now?: () => number;
}

export interface DeadLetterNotices {
  /** Remembers a dead letter for its list's next notice (durably, before returning). */
  record(event: DeadLetterEvent): Promise<void>;
  /**
   * Sends the notice of each list with dead letters waiting (recorded by any runner) whose
   * period is over; returns the lists that got one.
   */
  flush(): Promise<string[]>;
}

interface State {
  last_sent: number;
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

async function readPending(path: string): Promise<DeadLetterEvent[]> {
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as DeadLetterEvent];
      } catch {
        return []; // a torn last line of a crashed append
      }
    });
}

/** "bob@example.net: 550 5.1.1 no such user (Message-ID <m1@x>)" per dead letter. */
export function deadLetterLines(events: DeadLetterEvent[], max = 50): string {
  const lines = events.slice(0, max).map((e) => {
    const reply = replyText(e.code, e.response);
    return `    ${e.recipient}: ${e.reason === 'expired' ? 'expired' : 'refused'}${reply ? ` — ${reply}` : ''}${e.messageId ? ` (Message-ID <${e.messageId}>)` : ''}`;
  });
  if (events.length > max) lines.push(`    … and ${events.length - max} more`);
  return lines.join('\n');
}

export function createDeadLetterNotices(options: DeadLetterNoticeOptions): DeadLetterNotices {
  const dir = join(options.stateDir, 'notices', 'dead-letters');
  const every = (options.every_seconds ?? 3600) * 1000;
  const now = options.now ?? Date.now;
  const pendingPath = (list: string) => join(dir, `${safeName(list)}.jsonl`);
  const statePath = (list: string) => join(dir, `${safeName(list)}.json`);

  async function flushList(name: string): Promise<boolean> {
    const list = options.lists[name];
    if (!list) return false;
    return withFileLock(
      statePath(name),
      async () => {
        const state = await readJson<State>(statePath(name));
        if (state && now() - state.last_sent < every) return false;
        const events = await readPending(pendingPath(name));
        if (events.length === 0) return false;
        const owners = list.owners?.length ? list.owners : [ownerAddress(list)];
        for (const to of owners)
          await sendListNotice(
            options.outlet,
            list,
            {
              kind: 'dead_letters',
              to,
              vars: {
                count: String(events.length),
                dead_letters: deadLetterLines(events),
                where: options.where ?? 'the queue spool (dead/)',
                period: `${Math.round(every / 60_000)} minutes`,
              },
            },
            now(),
          );
        await writeFileDurable(statePath(name), JSON.stringify({ last_sent: now() }));
        await rm(pendingPath(name), { force: true });
        return true;
      },
      60_000,
    );
  }

  return {
    async record(event) {
      const name = event.list;
      if (!name || !options.lists[name]) return;
      await mkdir(dir, { recursive: true });
      // Under the list's lock: a flush truncating the file never loses a line appended meanwhile.
      await withFileLock(statePath(name), async () => {
        await appendFile(pendingPath(name), `${JSON.stringify(event)}\n`, { mode: 0o600 });
      });
    },
    async flush() {
      const sent: string[] = [];
      // Every list with dead letters waiting, this runner's or another's.
      const waiting = (await readdir(dir).catch(() => [] as string[]))
        .filter((f) => f.endsWith('.jsonl'))
        .map((f) => f.slice(0, -'.jsonl'.length));
      for (const name of Object.keys(options.lists).filter((n) => waiting.includes(safeName(n)))) {
        try {
          if (await flushList(name)) sent.push(name);
        } catch {
          // The recipients stay pending; the next run's flush tries again.
        }
      }
      return sent;
    },
  };
}
