/**
 * The queue `Transport` of the HTTP sending services (Amazon SES, Mailgun): the raw bytes
 * in one API call per batch of recipients, or one call per recipient when each has its own
 * bytes (personal copies) or its own sender (VERP, where the service takes one). The
 * service's answer to a call is turned into per-recipient outcomes the way an SMTP reply
 * is (smtp/outcome.ts): accepted → delivered, throttled / 5xx / network → tried again here
 * with backoff (the service's Retry-After first) and then deferred with its hint, a
 * rejected message → failed with the service's reason. A rejection that names one of a
 * batch's recipients is asked again one recipient a call, so one bad address never fails
 * the forty-nine others.
 *
 * Crash safety as with SMTP's 250: a call's outcomes go to `job.onTransaction` (the
 * queue's sent-log) right after the service's 200, before that worker makes its next call.
 */
import type { SendJob, Transport } from '../../queue/transport.ts';
import type { RecipientResult } from '../../types.ts';
import { mapLimited } from '../limit.ts';
import { sleep, type TokenBucket, tokenBucket } from './rate.ts';

/** One API call: a batch of recipients and the bytes they get. */
export interface ApiCall {
  /** The envelope sender ('' for the null sender). */
  from: string;
  to: string[];
  raw: Buffer;
}

/** What a service said to one call. */
export type CallAnswer =
  | { kind: 'accepted'; status: number; id?: string }
  /** Refused for good; `split`: the reason names a recipient, ask again one by one. */
  | { kind: 'rejected'; status: number; reason: string; split?: boolean }
  /** Throttled, a 5xx or the network: worth trying again soon. */
  | { kind: 'retry'; status?: number; reason: string; retryAfterMs?: number }
  /** Not the message's fault and not cured by seconds (credentials, a paused account). */
  | { kind: 'deferred'; status: number; reason: string };

export interface ApiTransportSettings {
  /** The transport's name on every outcome ('ses', 'mailgun'). */
  name: string;
  /** Recipients a call at most. */
  batchSize: number;
  /** Calls in flight at once. */
  concurrency: number;
  /** The account's send rate, recipients a second (SES counts each recipient). */
  perSecond?: number;
  /** Tries after the first on a throttled / 5xx / network answer. */
  retries: number;
  /** The first backoff, ms (doubled each time). */
  retryInitialMs: number;
  /** Waits longer than this are not waited here: the recipients are deferred to the queue. */
  retryMaxMs: number;
  /** The service takes a sender per call (SES's feedback address): VERP means a call each. */
  senderPerCall: boolean;
  call(call: ApiCall): Promise<CallAnswer>;
  /** @default setTimeout */
  sleep?: (ms: number) => Promise<void>;
}

/** What `ses:` and `mailgun:` both let the operator tune (schema.ts's `tuning`). */
export interface ServiceTuning {
  /** The account's send rate (recipients a second). @default no limit */
  max_per_second?: number;
  /** Calls in flight at once. @default 8 */
  max_connections?: number;
  /** Recipients a call. @default the service's own (SES 50, Mailgun 500) */
  max_recipients_per_call?: number;
  /** Tries after a throttled or 5xx answer, in this call. @default 3 */
  retries?: number;
  /** The first backoff, ms. @default 1000 */
  retry_initial_ms?: number;
  /** Longest wait here before leaving it to the queue, ms. @default 30000 */
  retry_max_ms?: number;
  /** The deadline of one call, ms. @default 60000 */
  timeout_ms?: number;
}

/** A service's tuning as the transport's settings, with the defaults; a call carries at most `batch.max`. */
export function tuned(
  options: ServiceTuning,
  batch: { max: number; default: number },
): Pick<
  ApiTransportSettings,
  'batchSize' | 'concurrency' | 'perSecond' | 'retries' | 'retryInitialMs' | 'retryMaxMs'
> & { timeoutMs: number } {
  return {
    batchSize: Math.min(batch.max, options.max_recipients_per_call ?? batch.default),
    concurrency: options.max_connections ?? 8,
    ...(options.max_per_second ? { perSecond: options.max_per_second } : {}),
    retries: options.retries ?? 3,
    retryInitialMs: options.retry_initial_ms ?? 1000,
    retryMaxMs: options.retry_max_ms ?? 30_000,
    timeoutMs: options.timeout_ms ?? 60_000,
  };
}

/** `Retry-After`: seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The outcomes of a final answer (never `retry`: that one has become deferred). */
function outcomes(name: string, to: string[], answer: CallAnswer): RecipientResult[] {
  const base = { distributor: name };
  switch (answer.kind) {
    case 'accepted':
      return to.map((recipient) => ({
        ...base,
        recipient,
        status: 'delivered' as const,
        code: 250,
        response: `250 ${name} accepted${answer.id ? ` ${answer.id}` : ''}`,
      }));
    case 'rejected':
      return to.map((recipient) => ({
        ...base,
        recipient,
        status: 'failed' as const,
        code: 554,
        response: `554 ${name} refused (HTTP ${answer.status}): ${answer.reason}`,
      }));
    default: {
      const hint =
        answer.kind === 'retry' && answer.retryAfterMs !== undefined
          ? ` (the service asks to retry after ${Math.ceil(answer.retryAfterMs / 1000)} s)`
          : '';
      const status = answer.status !== undefined ? ` (HTTP ${answer.status})` : '';
      return to.map((recipient) => ({
        ...base,
        recipient,
        status: 'deferred' as const,
        code: 451,
        response: `451 ${name}${status}: ${answer.reason}${hint}`,
      }));
    }
  }
}

/** One batch to its final answer: throttled / 5xx / network tried again with backoff. */
async function callWithRetries(
  s: ApiTransportSettings,
  bucket: TokenBucket,
  call: ApiCall,
): Promise<CallAnswer> {
  const wait = s.sleep ?? sleep;
  for (let attempt = 0; ; attempt++) {
    await bucket.take(call.to.length);
    const answer = await s.call(call);
    if (answer.kind !== 'retry' || attempt >= s.retries) return answer;
    const backoff = Math.min(s.retryMaxMs, s.retryInitialMs * 2 ** attempt);
    const asked = answer.retryAfterMs ?? 0;
    // A service asking for longer than we would wait here gets its wish through the queue.
    if (asked > s.retryMaxMs) return answer;
    await wait(Math.max(backoff, asked));
  }
}

/** A queue transport over one service's `call`. */
export function createApiTransport(s: ApiTransportSettings): Transport {
  const bucket = tokenBucket(s.perSecond ? { perSecond: s.perSecond } : {});
  const one = async (job: SendJob, to: string[]): Promise<RecipientResult[]> => {
    if (job.stopped?.())
      return to.map((recipient) => ({
        recipient,
        status: 'deferred' as const,
        distributor: s.name,
        response: 'not attempted: the send was stopped',
      }));
    const first = to[0] as string;
    const from = s.senderPerCall && job.senderFor ? job.senderFor(first) : job.from;
    const raw = job.personalise ? job.personalise(first) : job.raw;
    const answer = await callWithRetries(s, bucket, { from, to, raw });
    if (answer.kind === 'rejected' && answer.split && to.length > 1) {
      const each: RecipientResult[] = [];
      for (const r of to) each.push(...(await one(job, [r])));
      return each;
    }
    const results = outcomes(s.name, to, answer);
    // The sent-log hears of a 200 before this worker calls again (as SMTP's 250).
    await job.onTransaction?.(results);
    return results;
  };
  return {
    name: s.name,
    async send(job: SendJob): Promise<RecipientResult[]> {
      const unique = [...new Map(job.to.map((r) => [r.toLowerCase(), r])).values()];
      const single = Boolean(job.personalise) || (s.senderPerCall && Boolean(job.senderFor));
      const batches = single ? unique.map((r) => [r]) : chunk(unique, s.batchSize);
      const done = await mapLimited(batches, s.concurrency, (batch) => one(job, batch));
      return done.flat();
    },
    async close() {},
  };
}
