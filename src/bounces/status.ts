/**
 * Each member's bounce standing as an operator reads it (`malist members list`, later the
 * web page): the score as of now (decayed, a passed probe settled), the bounces counted,
 * when the last one came and what it said, a probe in flight, when the member was set to
 * nomail for bounces. Read-only: nothing is written.
 */
import { normalizeAddress } from '../mail/address.ts';
import { isoDay } from '../mail/iso-time.ts';
import { type BounceScoreOptions, decayedScore, settleProbe } from './score.ts';
import type { BounceStore } from './store.ts';

export interface MemberBounceStatus {
  /** The score now (decayed). */
  score: number;
  /** Bounces counted in all. */
  count: number;
  /** When the last bounce was counted (ms). */
  last_bounce?: number;
  /** What the last bounce said. */
  reason?: string;
  /** When the probe in flight was sent (ms). */
  probe_sent?: number;
  /** When the member was set to nomail for bounces (ms). */
  disabled_at?: number;
}

/** The bounce standing of a list's members who have a record, by normal address. */
export async function readBounceStatus(
  records: BounceStore,
  options: BounceScoreOptions = {},
  now: number = Date.now(),
): Promise<Map<string, MemberBounceStatus>> {
  const out = new Map<string, MemberBounceStatus>();
  for (const [address, stored] of Object.entries(await records.all())) {
    const record = settleProbe(stored, now, options)!;
    out.set(normalizeAddress(address) || address, {
      score: Math.round(decayedScore(record, now, options) * 100) / 100,
      count: record.count,
      ...(record.last_bounce ? { last_bounce: record.last_bounce } : {}),
      ...(record.last_diagnostic ? { reason: record.last_diagnostic } : {}),
      ...(record.probe ? { probe_sent: record.probe.sent_at } : {}),
      ...(record.disabled_at ? { disabled_at: record.disabled_at } : {}),
    });
  }
  return out;
}

/** One line of columns for a member: `bounces=2.5 last=2026-11-03 probe=2026-11-04 reason="…" disabled=…`. */
export function bounceColumns(status: MemberBounceStatus | undefined): string {
  if (!status) return '';
  const reason = (status.reason ?? '').replace(/\s+/g, ' ').slice(0, 80);
  return [
    `bounces=${status.score}`,
    ...(status.last_bounce ? [`last=${isoDay(status.last_bounce)}`] : []),
    ...(status.probe_sent ? [`probe=${isoDay(status.probe_sent)}`] : []),
    ...(reason ? [`reason=${JSON.stringify(reason)}`] : []),
    ...(status.disabled_at ? [`disabled=${isoDay(status.disabled_at)}`] : []),
  ].join(' ');
}
