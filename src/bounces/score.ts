/**
 * The bounce score of a member (pure): each counted bounce adds its weight (hard more than
 * soft, delay warnings nothing by default), at most `daily_cap` a day so one bad day of a
 * full mailbox does not unsubscribe anyone. After `quiet_days` without a bounce the score
 * halves every `half_life_days`, so old bounces fade while a steady bouncer adds up exactly.
 *
 * At `threshold` the member is not disabled at once: a probe goes out (its own VERP
 * cookie, list/verp.ts) and only a bounce of that probe sets the member to nomail. A probe
 * that has not bounced after `probe_days` has passed: the score starts again from 0.
 */
import type { BounceSettings } from '../list/settings.ts';
import { isoDay } from '../mail/iso-time.ts';
import type { BounceClass } from './severity.ts';

/** A list's `bounces:` settings, documented where lists are (list/settings.ts). */
export type BounceScoreOptions = BounceSettings;

/** How a counted bounce was proven to be about this member. */
export type BounceSource = 'verp' | 'sent-index' | 'refusal' | 'feedback';

/** One counted bounce, kept for the notices ("with the evidence"). */
export interface BounceEvidence {
  at: number;
  source: BounceSource;
  class: BounceClass;
  diagnostic: string;
  /** This bounce was of the probe. */
  probe?: boolean;
}

/** A probe sent at the threshold. */
export interface PendingProbe {
  sent_at: number;
  /** In the probe's VERP cookie. */
  nonce: string;
  /** The refusal key of the probe's delivery (`KEY:member`): a 5xx for it is its bounce. */
  key: string;
}

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
  /** When the last bounce was counted (ms). */
  last_bounce?: number;
  /** The last bounces counted, newest last. */
  evidence?: BounceEvidence[];
  /** The probe in flight, if any. */
  probe?: PendingProbe;
  /** When the last probe passed (did not bounce within probe_days). */
  probe_passed_at?: number;
  /** When the member was set to nomail for bounces. */
  disabled_at?: number;
}

/** One bounce to count. */
export interface CountedBounce {
  class: BounceClass;
  action: 'failed' | 'delayed';
  /** Identifies the bounce (the bounce mail's key, or post key + recipient). */
  key: string;
  diagnostic?: string;
  source: BounceSource;
}

const SEEN_KEPT = 50;
const EVIDENCE_KEPT = 5;
const DAY_MS = 86_400_000;

/** The score decayed from `record.updated` to `now`. */
export function decayedScore(
  record: BounceRecord | undefined,
  now: number,
  options: BounceScoreOptions = {},
): number {
  if (!record) return 0;
  const halfLife = (options.half_life_days ?? 7) * DAY_MS;
  const elapsed = Math.max(0, now - record.updated - (options.quiet_days ?? 7) * DAY_MS);
  return record.score * 0.5 ** (elapsed / halfLife);
}

/** The record with a probe older than `probe_days` marked passed (score back to 0). */
export function settleProbe(
  record: BounceRecord | undefined,
  now: number,
  options: BounceScoreOptions = {},
): BounceRecord | undefined {
  if (!record?.probe) return record;
  if (now - record.probe.sent_at < (options.probe_days ?? 7) * DAY_MS) return record;
  const { probe: _passed, ...rest } = record;
  return { ...rest, score: 0, updated: now, day_added: 0, probe_passed_at: now };
}

function evidenceOf(bounce: CountedBounce, now: number, probe: boolean): BounceEvidence {
  return {
    at: now,
    source: bounce.source,
    class: bounce.class,
    diagnostic: (bounce.diagnostic ?? '').replace(/\s+/g, ' ').trim().slice(0, 300),
    ...(probe ? { probe: true } : {}),
  };
}

/**
 * The record after one more bounce (or the same record when `key` was counted already).
 * `probe`: this bounce is of the probe in flight; it is remembered, not scored.
 */
export function addBounce(
  record: BounceRecord | undefined,
  bounce: CountedBounce,
  now: number,
  options: BounceScoreOptions = {},
  probe = false,
): BounceRecord {
  if (record?.seen.includes(bounce.key)) return record;
  const weight = probe
    ? 0
    : bounce.action === 'delayed'
      ? (options.delay_weight ?? 0)
      : bounce.class === 'hard'
        ? (options.hard_weight ?? 1)
        : (options.soft_weight ?? 0.5);
  const day = isoDay(now);
  const dayAdded = record && record.day === day ? record.day_added : 0;
  const added = Math.max(0, Math.min(weight, (options.daily_cap ?? 1) - dayAdded));
  const counted = bounce.action === 'failed';
  return {
    ...record,
    score: decayedScore(record, now, options) + added,
    updated: now,
    day,
    day_added: dayAdded + added,
    count: (record?.count ?? 0) + 1,
    seen: [...(record?.seen ?? []), bounce.key].slice(-SEEN_KEPT),
    ...(bounce.diagnostic ? { last_diagnostic: bounce.diagnostic.slice(0, 300) } : {}),
    ...(counted ? { last_bounce: now } : {}),
    ...(counted
      ? {
          evidence: [...(record?.evidence ?? []), evidenceOf(bounce, now, probe)].slice(
            -EVIDENCE_KEPT,
          ),
        }
      : {}),
  };
}

/** True when the record has reached the threshold. */
export function overThreshold(record: BounceRecord, options: BounceScoreOptions = {}): boolean {
  return record.score >= (options.threshold ?? 5) - 1e-9;
}
