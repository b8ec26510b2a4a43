/**
 * Attempts counted per key (an address, an IP) in a fixed window, in memory: enough to
 * stop a password or sign-in mail being tried in a loop from one place. A full table
 * forgets its oldest windows first, so it cannot grow without bound.
 */

export interface RateLimitOptions {
  /** Attempts allowed per window. */
  max: number;
  /** The window, ms. */
  windowMs: number;
  /** Keys remembered at most. @default 10000 */
  keys?: number;
  now?: () => number;
}

export interface RateLimiter {
  /** Counts an attempt for `key`; false when the key is over its limit (not counted). */
  take(key: string): boolean;
  /** Seconds until `key` may try again (0: now). */
  retryAfter(key: string): number;
}

export function createRateLimiter(options: RateLimitOptions): RateLimiter {
  const windows = new Map<string, { count: number; reset: number }>();
  const now = options.now ?? Date.now;
  const cap = options.keys ?? 10_000;
  const current = (key: string) => {
    const w = windows.get(key);
    if (w && w.reset > now()) return w;
    windows.delete(key);
    return undefined;
  };
  return {
    take(key) {
      const w = current(key);
      if (w && w.count >= options.max) return false;
      if (w) w.count++;
      else {
        if (windows.size >= cap) windows.delete(windows.keys().next().value!);
        windows.set(key, { count: 1, reset: now() + options.windowMs });
      }
      return true;
    },
    retryAfter(key) {
      const w = current(key);
      return w && w.count >= options.max ? Math.ceil((w.reset - now()) / 1000) : 0;
    },
  };
}
