/**
 * A durable per-mailbox, per-day notice counter: a list must not mail one mailbox more
 * than a few notices a day, whatever a loop or an attacker sends (Mailman's `autorespond`
 * limit). The count is per real mailbox — `victim+1@`, `"victim"@` and `VICTIM@` are one
 * (`mailboxKey`) — and is read and written under a file lock, so parallel deliveries
 * (one `malist receive` per mail) cannot each see the same count. One small file per
 * (day, mailbox) under the state directory, or a row per (day, mailbox) in PostgreSQL that
 * every host shares (state/memos.ts, state/pg-memos.ts).
 */
import { createHash } from 'node:crypto';
import { normalizeAddress } from '../mail/address.ts';
import { isoDay } from '../mail/iso-time.ts';
import { FileNoticeCounts, type NoticeCounts } from '../state/memos.ts';

export interface RateLimitOptions {
  /** Notices one address may get per UTC day. @default 10 */
  per_day?: number;
}

export class NoticeRateLimit {
  private readonly perDay: number;
  private readonly counts: NoticeCounts;
  constructor(
    /** e.g. STATE/notices, or the counts the composition root built (PostgreSQL rows) */
    where: string | NoticeCounts,
    options: RateLimitOptions = {},
  ) {
    this.perDay = options.per_day ?? 10;
    this.counts = typeof where === 'string' ? new FileNoticeCounts(where) : where;
  }

  /** Counts one notice to `address` if the day's budget allows; false when it is spent. */
  async take(address: string, now = Date.now()): Promise<boolean> {
    const day = isoDay(now);
    const id = createHash('sha256').update(mailboxKey(address)).digest('hex').slice(0, 40);
    const taken = await this.counts.take(day, id, this.perDay);
    if (taken) await this.counts.prune(day);
    return taken;
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
