import { describe, expect, it } from 'vitest';
import { isExpired, retryDelayMs } from './retry-policy.ts';

describe('retry policy', () => {
  it('backs off exponentially up to the cap', () => {
    const policy = { initial_seconds: 60, factor: 2, max_seconds: 600 };
    expect([1, 2, 3, 4, 5, 1000].map((n) => retryDelayMs(n, policy))).toEqual([
      60_000, 120_000, 240_000, 480_000, 600_000, 600_000,
    ]);
  });
  it('spreads by the jitter fraction', () => {
    expect(retryDelayMs(1, { initial_seconds: 100, jitter: 0.1 }, () => 1)).toBe(110_000);
    expect(retryDelayMs(1, { initial_seconds: 100, jitter: 0.1 }, () => 0)).toBe(90_000);
  });
  it('expires at the configured age', () => {
    expect(isExpired(0, 999, 1)).toBe(false);
    expect(isExpired(0, 1000, 1)).toBe(true);
  });
});
