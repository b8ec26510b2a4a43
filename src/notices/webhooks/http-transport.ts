/**
 * Webhooks over HTTP behind the queue's Transport contract (queue/transport.ts), so events
 * get what mail gets: a durable spool, retries with backoff only for the receivers that
 * failed, expiry into dead letters, and a sent-log so a receiver that answered 2xx is never
 * sent the event again. A "recipient" is an endpoint's name; the transport maps it to the
 * URL and secret configured now.
 *
 * Each POST carries the JSON event and `X-Malist-Signature: t=UNIX,v1=HEX`, where HEX is
 * HMAC-SHA256(secret, "UNIX.BODY") — the timestamp is signed too, so a receiver can refuse
 * replays older than a few minutes. 2xx is delivered; 408, 425, 429, 5xx and network errors
 * are retried; any other 4xx (the receiver refuses the event) is final.
 */
import { createHmac } from 'node:crypto';
import type { SendJob, Transport } from '../../queue/transport.ts';
import type { RecipientResult } from '../../types.ts';

export interface WebhookEndpoint {
  /** The endpoint's name (the queue's "recipient"). */
  name: string;
  url: string;
  /** The HMAC key shared with the receiver. */
  secret: string;
}

export interface HttpTransportOptions {
  endpoints: WebhookEndpoint[];
  /** Milliseconds a receiver has to answer. @default 10000 */
  timeout_ms?: number;
  /** The clock (ms), for the signature's timestamp. @default Date.now */
  now?: () => number;
}

const RETRIED = new Set([408, 425, 429]);

/** The signature header's value for `body` at `seconds`. */
export function signWebhook(secret: string, body: string | Buffer, seconds: number): string {
  const mac = createHmac('sha256', secret).update(`${seconds}.`).update(body).digest('hex');
  return `t=${seconds},v1=${mac}`;
}

/** Whether `header` signs `body` with `secret` (for receivers, and the tests). */
export function verifyWebhook(secret: string, body: string | Buffer, header: string): boolean {
  const t = /(?:^|,)t=(\d+)/.exec(header)?.[1];
  return t !== undefined && signWebhook(secret, body, Number(t)) === header;
}

function eventHeaders(raw: Buffer): Record<string, string> {
  try {
    const event = JSON.parse(raw.toString('utf8')) as { id?: string; type?: string };
    return {
      ...(event.id ? { 'X-Malist-Delivery': event.id } : {}),
      ...(event.type ? { 'X-Malist-Event': event.type } : {}),
    };
  } catch {
    return {};
  }
}

export function statusOf(code: number): RecipientResult['status'] {
  if (code >= 200 && code < 300) return 'delivered';
  if (code >= 500 || RETRIED.has(code)) return 'deferred';
  return 'failed';
}

export function createHttpTransport(options: HttpTransportOptions): Transport {
  const byName = new Map(options.endpoints.map((e) => [e.name.toLowerCase(), e]));
  const timeout = options.timeout_ms ?? 10_000;
  const now = options.now ?? Date.now;
  async function post(name: string, raw: Buffer): Promise<RecipientResult> {
    const endpoint = byName.get(name.toLowerCase());
    const base = { recipient: name, distributor: 'webhook' };
    if (!endpoint)
      return { ...base, status: 'failed', response: `no webhook named ${name} is configured now` };
    try {
      const res = await fetch(endpoint.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'malist-webhook',
          'X-Malist-Signature': signWebhook(endpoint.secret, raw, Math.floor(now() / 1000)),
          ...eventHeaders(raw),
        },
        body: new Uint8Array(raw),
        redirect: 'manual',
        signal: AbortSignal.timeout(timeout),
      });
      const text = (await res.text().catch(() => '')).slice(0, 200).replace(/\s+/g, ' ');
      return { ...base, status: statusOf(res.status), code: res.status, response: text };
    } catch (error) {
      return { ...base, status: 'deferred', response: (error as Error).message.slice(0, 200) };
    }
  }
  return {
    name: 'webhook',
    async send(job: SendJob): Promise<RecipientResult[]> {
      const results: RecipientResult[] = [];
      for (const name of job.to) {
        const result = await post(name, job.personalise?.(name) ?? job.raw);
        await job.onTransaction?.([result]);
        results.push(result);
      }
      return results;
    },
    async close() {},
  };
}
