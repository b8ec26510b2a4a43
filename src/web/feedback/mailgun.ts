/**
 * Mailgun's webhook signature, as Mailgun documents it: HMAC-SHA256 over timestamp +
 * token with the account's HTTP webhook signing key, hex. A timestamp older (or newer)
 * than `max_age_seconds` is refused, and so is a token seen before (kept for that long):
 * a captured request cannot be played again.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface MailgunWebhookSettings {
  /** The HTTP webhook signing key (signing_key_env / signing_key_file). */
  signing_key: string;
  /** @default 300 */
  max_age_seconds?: number;
}

export interface MailgunSignature {
  timestamp: string;
  token: string;
  signature: string;
}

/** A checker with its own memory of tokens; returns why a signature is refused, or undefined. */
export function mailgunVerifier(settings: MailgunWebhookSettings, now: () => number = Date.now) {
  const maxAge = (settings.max_age_seconds ?? 300) * 1000;
  const seen = new Map<string, number>();
  return (sig: Partial<MailgunSignature> | undefined): string | undefined => {
    const { timestamp, token, signature } = sig ?? {};
    if (typeof timestamp !== 'string' || typeof token !== 'string' || typeof signature !== 'string')
      return 'no signature';
    const at = Number(timestamp) * 1000;
    const t = now();
    if (!Number.isFinite(at) || Math.abs(t - at) > maxAge) return 'stale timestamp';
    const expected = createHmac('sha256', settings.signing_key)
      .update(timestamp + token)
      .digest('hex');
    const given = Buffer.from(signature, 'utf8');
    if (given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected)))
      return 'bad signature';
    for (const [k, until] of seen) if (until < t) seen.delete(k);
    if (seen.has(token)) return 'token replayed';
    seen.set(token, t + 2 * maxAge);
    return undefined;
  };
}
