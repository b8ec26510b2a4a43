/**
 * A durable per-mailbox, per-day notice counter: a list must not mail one mailbox more
 * than a few notices a day, whatever a loop or an attacker sends (Mailman's `autorespond`
 * limit). The count is per real mailbox — `victim+1@`, `"victim"@` and `VICTIM@` are one
 * (`mailboxKey`) — and is read and written under a file lock, so parallel deliveries
 * (one `malist receive` per mail) cannot each see the same count. One small file per
 * (day, mailbox) under the state directory.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { normalizeAddress } from '../mail/address.ts';
import { writeFileDurable } from '../state/durable.ts';
import { withFileLock } from '../state/lock.ts';

export interface RateLimitOptions {
  /** Notices one address may get per UTC day. @default 10 */
  per_day?: number;
}

export class NoticeRateLimit {
  private readonly perDay: number;
  constructor(
    /** e.g. STATE/notices */
    readonly dir: string,
    options: RateLimitOptions = {},
  ) {
    this.perDay = options.per_day ?? 10;
  }

  private path(day: string, address: string): string {
    const id = createHash('sha256').update(mailboxKey(address)).digest('hex');
    return join(this.dir, day, `${id.slice(0, 40)}.json`);
  }

  /** Counts one notice to `address` if the day's budget allows; false when it is spent. */
  async take(address: string, now = Date.now()): Promise<boolean> {
    const day = new Date(now).toISOString().slice(0, 10);
    const path = this.path(day, address);
    const taken = await withFileLock(
      path,
      async () => {
        let count = 0;
        try {
          count = (JSON.parse(await readFile(path, 'utf8')) as { count: number }).count;
        } catch {
          // first notice today (or an unreadable counter: start again rather than go silent)
        }
        if (count >= this.perDay) return false;
        await writeFileDurable(path, JSON.stringify({ count: count + 1 }), { mode: 0o600 });
        return true;
      },
      60_000,
    );
    if (taken) await this.prune(day);
    return taken;
  }

  /** Drops the counters of past days. */
  private async prune(today: string): Promise<void> {
    const days = await readdir(this.dir).catch(() => [] as string[]);
    for (const day of days) {
      if (/^\d{4}-\d\d-\d\d$/.test(day) && day < today)
        await rm(join(this.dir, day), { recursive: true, force: true });
    }
  }
}

/**
 * The real mailbox an address reaches, as the daily budget counts it: unquoted, without
 * its `+tag`, in normal form (case-folded, IDN domain in ASCII).
 */
export function mailboxKey(address: string): string {
  const text = address.trim().replace(/^<|>$/g, '');
  const at = text.lastIndexOf('@');
  if (at <= 0) return text.toLowerCase();
  const local = text
    .slice(0, at)
    .replace(/^"(.*)"$/s, '$1')
    .replace(/\\(.)/g, '$1')
    .replace(/\+.*$/s, '');
  const bare = `${local}@${text.slice(at + 1)}`;
  return normalizeAddress(bare) || bare.toLowerCase();
}
