/**
 * Request memos and notice counts: two small stores that keep what a handled command mail
 * did and how many notices a mailbox got today, behind interfaces with two backends — the
 * files under `state_dir` (`requests/`, `notices/`, the default) or PostgreSQL rows
 * (`storage: {type: postgres}`, pg-memos.ts), which every host sharing the database sees:
 * a replay on another host returns the same replies, and two hosts share one daily budget.
 */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurable } from './durable.ts';
import { withFileLock } from './lock.ts';
import { safeName } from './safe-name.ts';

export interface RequestMemo {
  /** `from` (envelope sender) and `key`, when the producer chose them (bounce probes). */
  replies: Array<{ to: string; raw: Buffer; from?: string; key?: string }>;
  /** Tokens to consume once the memo is safe. */
  consume: string[];
}

/** One memo as a migration copies it. */
export interface StoredMemo {
  list: string;
  key: string;
  memo: RequestMemo;
  /** When it was written (ms). */
  at: number;
}

/** Where handled command mails are remembered, by (list, mail key). */
export interface MemoStore {
  get(list: string, key: string): Promise<RequestMemo | undefined>;
  /** Records the memo (a second put for one key replaces it: the same mail gives the same replies). */
  put(list: string, key: string, memo: RequestMemo, now?: number): Promise<void>;
  /** Deletes memos written more than `maxAgeMs` ago; returns how many went. */
  prune(maxAgeMs: number, now?: number): Promise<number>;
  /** Every memo kept (for `malist storage migrate`). */
  all(): AsyncIterable<StoredMemo>;
}

interface MemoJson {
  replies: Array<{ to: string; raw: string; from?: string; key?: string }>;
  consume: string[];
  /** The list and key as given (the file name is their safe form); absent in older memos. */
  list?: string;
  key?: string;
}

export function memoToJson(memo: RequestMemo): MemoJson {
  return {
    replies: memo.replies.map((r) => ({ ...r, raw: r.raw.toString('base64') })),
    consume: memo.consume,
  };
}

export function memoFromJson(data: MemoJson): RequestMemo {
  return {
    replies: data.replies.map((r) => ({ ...r, raw: Buffer.from(r.raw, 'base64') })),
    consume: data.consume,
  };
}

/**
 * The files: `DIR/<list>/<key>.json`, written durably before the tokens are consumed, a
 * memo's age its file's mtime.
 */
export class FileMemoStore implements MemoStore {
  constructor(readonly dir: string) {}

  private path(list: string, key: string): string {
    return join(this.dir, safeName(list), `${safeName(key)}.json`);
  }

  async get(list: string, key: string): Promise<RequestMemo | undefined> {
    try {
      return memoFromJson(JSON.parse(await readFile(this.path(list, key), 'utf8')) as MemoJson);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || error instanceof SyntaxError)
        return undefined;
      throw error;
    }
  }

  async put(list: string, key: string, memo: RequestMemo): Promise<void> {
    await writeFileDurable(
      this.path(list, key),
      JSON.stringify({ ...memoToJson(memo), list, key }),
    );
  }

  async prune(maxAgeMs: number, now = Date.now()): Promise<number> {
    let gone = 0;
    for (const list of await readdir(this.dir).catch(() => [] as string[])) {
      const dir = join(this.dir, list);
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        if (!name.endsWith('.json')) continue;
        const path = join(dir, name);
        const info = await stat(path).catch(() => undefined);
        if (info && now - info.mtimeMs > maxAgeMs) {
          await rm(path, { force: true });
          gone++;
        }
      }
    }
    return gone;
  }

  async *all(): AsyncIterable<StoredMemo> {
    for (const list of (await readdir(this.dir).catch(() => [] as string[])).sort()) {
      const dir = join(this.dir, list);
      for (const name of (await readdir(dir).catch(() => [] as string[])).sort()) {
        if (!name.endsWith('.json')) continue;
        const path = join(dir, name);
        try {
          const data = JSON.parse(await readFile(path, 'utf8')) as MemoJson;
          const info = await stat(path);
          yield {
            list: data.list ?? list,
            key: data.key ?? name.slice(0, -'.json'.length),
            memo: memoFromJson(data),
            at: info.mtimeMs,
          };
        } catch {
          // a memo half-written by a crash, or gone meanwhile: nothing to replay from it
        }
      }
    }
  }
}

/** One day's count for one mailbox, as a migration copies it. */
export interface StoredCount {
  /** `YYYY-MM-DD` (UTC). */
  day: string;
  /** The mailbox's id (a hash of its normal form: no address is stored). */
  mailbox: string;
  count: number;
}

/** Per-day, per-mailbox notice counts (notices/rate-limit.ts keeps the budget over them). */
export interface NoticeCounts {
  /** Counts one notice to `mailbox` on `day` unless `perDay` were counted already. */
  take(day: string, mailbox: string, perDay: number): Promise<boolean>;
  /** Drops the counts of days before `today`. */
  prune(today: string): Promise<void>;
  /** Every count kept (for `malist storage migrate`). */
  all(): AsyncIterable<StoredCount>;
  /** Sets a count to at least `count` (a migration's copy). */
  raise(day: string, mailbox: string, count: number): Promise<void>;
}

/**
 * The files: `DIR/<day>/<mailbox>.json` holding `{count}`, read and written under a file
 * lock so parallel deliveries (one `malist receive` per mail) cannot each see one count.
 */
export class FileNoticeCounts implements NoticeCounts {
  constructor(readonly dir: string) {}

  private path(day: string, mailbox: string): string {
    return join(this.dir, day, `${mailbox}.json`);
  }

  private async update(
    day: string,
    mailbox: string,
    next: (count: number) => number | undefined,
  ): Promise<boolean> {
    const path = this.path(day, mailbox);
    return withFileLock(
      path,
      async () => {
        let count = 0;
        try {
          count = (JSON.parse(await readFile(path, 'utf8')) as { count: number }).count;
        } catch {
          // first notice today (or an unreadable counter: start again rather than go silent)
        }
        const after = next(count);
        if (after === undefined) return false;
        await writeFileDurable(path, JSON.stringify({ count: after }), { mode: 0o600 });
        return true;
      },
      60_000,
    );
  }

  take(day: string, mailbox: string, perDay: number): Promise<boolean> {
    return this.update(day, mailbox, (count) => (count >= perDay ? undefined : count + 1));
  }

  async raise(day: string, mailbox: string, count: number): Promise<void> {
    await this.update(day, mailbox, (have) => (have >= count ? undefined : count));
  }

  async prune(today: string): Promise<void> {
    const days = await readdir(this.dir).catch(() => [] as string[]);
    for (const day of days) {
      if (/^\d{4}-\d\d-\d\d$/.test(day) && day < today)
        await rm(join(this.dir, day), { recursive: true, force: true });
    }
  }

  async *all(): AsyncIterable<StoredCount> {
    for (const day of (await readdir(this.dir).catch(() => [] as string[])).sort()) {
      if (!/^\d{4}-\d\d-\d\d$/.test(day)) continue;
      for (const name of (await readdir(join(this.dir, day)).catch(() => [] as string[])).sort()) {
        if (!name.endsWith('.json')) continue;
        try {
          const { count } = JSON.parse(await readFile(join(this.dir, day, name), 'utf8')) as {
            count: number;
          };
          yield { day, mailbox: name.slice(0, -'.json'.length), count };
        } catch {
          // unreadable: counts as a fresh day, as take() does
        }
      }
    }
  }
}
