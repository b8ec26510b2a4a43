/**
 * When to try a deferred recipient again: exponential backoff, capped, and when to give
 * up. Pure functions, so the schedule can be tested without a clock.
 */

export interface RetryPolicy {
  /** Delay after the first failed attempt, seconds. @default 60 */
  initial_seconds?: number;
  /** Each further attempt waits this many times longer. @default 2 */
  factor?: number;
  /** The longest wait between attempts, seconds. @default 14400 (4 hours) */
  max_seconds?: number;
  /** Random spread of each delay, as a fraction (0.1 = ±10 %), so runners do not stampede. @default 0 */
  jitter?: number;
}

/** The delay in ms before attempt `attempts + 1`, after `attempts` (≥ 1) failed attempts. */
export function retryDelayMs(
  attempts: number,
  policy: RetryPolicy = {},
  random = Math.random,
): number {
  const initial = (policy.initial_seconds ?? 60) * 1000;
  const factor = policy.factor ?? 2;
  const max = (policy.max_seconds ?? 14_400) * 1000;
  const exponent = Math.max(0, attempts - 1);
  // Capped before multiplying out, so a thousand attempts cannot overflow to Infinity.
  const base = Math.min(max, initial * factor ** Math.min(exponent, 64));
  const jitter = policy.jitter ?? 0;
  const spread = jitter > 0 ? base * jitter * (2 * random() - 1) : 0;
  return Math.max(0, Math.round(base + spread));
}

/** True when an entry created at `created` (ms) is older than `expireAfterSeconds` at `now`. */
export function isExpired(created: number, now: number, expireAfterSeconds: number): boolean {
  return now - created >= expireAfterSeconds * 1000;
}
