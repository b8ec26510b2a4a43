/**
 * Mailgun's `POST /v3/DOMAIN/messages.mime`: the queue's bytes as the `message` file, as
 * they are, and the recipients as `to`. Mailgun writes its own envelope sender (its bounce
 * address) and reports bounces by webhook naming the recipient, so a VERP sender is of no
 * use there: recipients are batched unless each has its own bytes. Its open and click
 * tracking rewrites the body (and so breaks the list's DKIM signature): off unless
 * `tracking: true`.
 */
import type { Transport } from '../../queue/transport.ts';
import {
  type CallAnswer,
  createApiTransport,
  retryAfterMs,
  type ServiceTuning,
  tuned,
} from './api-transport.ts';
import { type Answered, post, reasonOf } from './http.ts';

export interface MailgunOptions extends ServiceTuning {
  /** The sending domain as set up at Mailgun. */
  domain: string;
  /** The private API key (from api_key_env / api_key_file). */
  api_key: string;
  /** The account's region. @default us */
  region?: 'us' | 'eu';
  /** Instead of the region's API host (tests). */
  base_url?: string;
  /** Mailgun's open and click tracking. @default false */
  tracking?: boolean;
}

const BASE = { us: 'https://api.mailgun.net', eu: 'https://api.eu.mailgun.net' } as const;

/** A Mailgun answer as a call's answer (pure: tested without a server). */
export function mailgunAnswer(a: Answered, to: readonly string[]): CallAnswer {
  const reason = reasonOf(a.text);
  if (a.status >= 200 && a.status < 300) {
    let id: string | undefined;
    try {
      id = (JSON.parse(a.text) as { id?: string }).id;
    } catch {
      id = undefined;
    }
    return { kind: 'accepted', status: a.status, ...(id ? { id } : {}) };
  }
  if (a.status === 429 || a.status >= 500) {
    const after = retryAfterMs(a.headers.get('retry-after'));
    return {
      kind: 'retry',
      status: a.status,
      reason,
      ...(after !== undefined ? { retryAfterMs: after } : {}),
    };
  }
  // A wrong key or domain is the operator's to fix, not the members' fault.
  if (a.status === 401 || a.status === 403 || a.status === 404)
    return { kind: 'deferred', status: a.status, reason };
  const lower = reason.toLowerCase();
  const split = lower.includes("'to'") || to.some((r) => lower.includes(r.toLowerCase()));
  return { kind: 'rejected', status: a.status, reason, split };
}

/** The Mailgun transport. */
export function createMailgunTransport(options: MailgunOptions): Transport {
  const base = (options.base_url ?? BASE[options.region ?? 'us']).replace(/\/$/, '');
  const url = `${base}/v3/${encodeURIComponent(options.domain)}/messages.mime`;
  const auth = `Basic ${Buffer.from(`api:${options.api_key}`).toString('base64')}`;
  const tracking = options.tracking ? 'yes' : 'no';
  const { timeoutMs: timeout, ...tuning } = tuned(options, { max: 1000, default: 500 });
  return createApiTransport({
    name: 'mailgun',
    ...tuning,
    senderPerCall: false,
    async call({ to, raw }) {
      const form = new FormData();
      for (const r of to) form.append('to', r);
      form.append(
        'message',
        new Blob([raw as Uint8Array<ArrayBuffer>], { type: 'message/rfc822' }),
        'message.mime',
      );
      form.append('o:tracking', tracking);
      form.append('o:tracking-clicks', tracking);
      form.append('o:tracking-opens', tracking);
      const answer = await post(url, { headers: { Authorization: auth }, body: form }, timeout);
      return 'kind' in answer ? answer : mailgunAnswer(answer, to);
    },
  });
}
