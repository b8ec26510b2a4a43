/**
 * The account's send rate as a token bucket: `perSecond` tokens a second, at most
 * `perSecond` saved up (one second's burst). A call that costs more than the bucket holds
 * (50 recipients against a rate of 14/s) takes what it needs and leaves the bucket in
 * debt, so the calls after it wait until the debt is paid: the average stays at the rate.
 */
export interface TokenBucket {
  /** Resolves when `cost` tokens may be spent (and spends them). */
  take(cost?: number): Promise<void>;
}

export interface TokenBucketOptions {
  /** Tokens a second; 0 or undefined: no limit. */
  perSecond?: number;
  /** The clock, ms. @default Date.now */
  now?: () => number;
  /** @default setTimeout */
  sleep?: (ms: number) => Promise<void>;
}

export const sleep = (ms: number) =>
  new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** A bucket with `perSecond` tokens a second (no limit without one). */
export function tokenBucket(options: TokenBucketOptions = {}): TokenBucket {
  const rate = options.perSecond;
  if (!rate || rate <= 0) return { take: async () => {} };
  const now = options.now ?? Date.now;
  const wait = options.sleep ?? sleep;
  let tokens = rate;
  let at = now();
  // Takers queue up in order: a big call never starves behind a stream of small ones.
  let turn = Promise.resolve();
  const refill = () => {
    const t = now();
    tokens = Math.min(rate, tokens + ((t - at) / 1000) * rate);
    at = t;
  };
  return {
    take(cost = 1) {
      const mine = turn.then(async () => {
        refill();
        const need = Math.min(cost, rate);
        while (tokens < need) {
          await wait(((need - tokens) / rate) * 1000);
          refill();
        }
        tokens -= cost;
      });
      turn = mine;
      return mine;
    },
  };
}
