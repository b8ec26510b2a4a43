/**
 * A durable per-address, per-day notice counter: a list must not mail one address more
 * than a few notices a day, whatever a loop or an attacker sends (Mailman's
 * `autorespond` limit). One small file per (day, address) under the state directory.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { normalizeAddress } from '../mail/address.ts';
import { writeFileDurable } from '../state/durable.ts';

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
    const id = createHash('sha256')
      .update(normalizeAddress(address) || address.toLowerCase())
      .digest('hex');
    return join(this.dir, day, `${id.slice(0, 40)}.json`);
  }

  /** Counts one notice to `address` if the day's budget allows; false when it is spent. */
  async take(address: string, now = Date.now()): Promise<boolean> {
    const day = new Date(now).toISOString().slice(0, 10);
    const path = this.path(day, address);
    let count = 0;
    try {
      count = (JSON.parse(await readFile(path, 'utf8')) as { count: number }).count;
    } catch {
      // first notice today (or an unreadable counter: start again rather than go silent)
    }
    if (count >= this.perDay) return false;
    await writeFileDurable(path, JSON.stringify({ count: count + 1 }));
    await this.prune(day);
    return true;
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
