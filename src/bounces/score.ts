/**
 * The bounce score of a member (pure): each bounce adds its weight (hard more than soft,
 * delay warnings nothing by default), at most `daily_cap` a day so one bad day of a full
 * mailbox does not unsubscribe anyone. After `quiet_days` without a bounce the score halves
 * every `half_life_days`, so old bounces fade while a steady bouncer adds up exactly. At `threshold` the member is set to nomail.
 */
import type { BounceSettings } from '../list/settings.ts';
import type { BounceClass } from './severity.ts';

/** A list's `bounces:` settings, documented where lists are (processors/list.ts). */
export type BounceScoreOptions = BounceSettings;

export interface BounceRecord {
  /** The score as of `updated`. */
  score: number;
  /** When the score was last computed (ms since epoch). */
  updated: number;
  /** Score added on `day` (YYYY-MM-DD), for the daily cap. */
  day: string;
  day_added: number;
  /** Bounces counted in all. */
  count: number;
  /** Keys of the last bounces counted (the same bounce is never counted twice). */
  seen: string[];
  /** Last diagnostic, for the owner. */
  last_diagnostic?: string;
  /** When the member was set to nomail for bounces. */
  disabled_at?: number;
}

const SEEN_KEPT = 50;

/** The score decayed from `record.updated` to `now`. */
export function decayedScore(
  record: BounceRecord | undefined,
  now: number,
  options: BounceScoreOptions = {},
): number {
  if (!record) return 0;
  const halfLife = (options.half_life_days ?? 7) * 86_400_000;
  const elapsed = Math.max(0, now - record.updated - (options.quiet_days ?? 7) * 86_400_000);
  return record.score * 0.5 ** (elapsed / halfLife);
}

/** The record after one more bounce (or the same record when `key` was counted already). */
export function addBounce(
  record: BounceRecord | undefined,
  bounce: { class: BounceClass; action: 'failed' | 'delayed'; key: string; diagnostic?: string },
  now: number,
  options: BounceScoreOptions = {},
): BounceRecord {
  if (record?.seen.includes(bounce.key)) return record;
  const weight =
    bounce.action === 'delayed'
      ? (options.delay_weight ?? 0)
      : bounce.class === 'hard'
        ? (options.hard_weight ?? 1)
        : (options.soft_weight ?? 0.5);
  const day = new Date(now).toISOString().slice(0, 10);
  const dayAdded = record && record.day === day ? record.day_added : 0;
  const added = Math.max(0, Math.min(weight, (options.daily_cap ?? 1) - dayAdded));
  return {
    ...record,
    score: decayedScore(record, now, options) + added,
    updated: now,
    day,
    day_added: dayAdded + added,
    count: (record?.count ?? 0) + 1,
    seen: [...(record?.seen ?? []), bounce.key].slice(-SEEN_KEPT),
    ...(bounce.diagnostic ? { last_diagnostic: bounce.diagnostic.slice(0, 300) } : {}),
  };
}

/** True when the record has reached the threshold. */
export function overThreshold(record: BounceRecord, options: BounceScoreOptions = {}): boolean {
  return record.score >= (options.threshold ?? 5) - 1e-9;
}
