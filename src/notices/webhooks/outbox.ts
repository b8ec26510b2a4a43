/**
 * The webhook outbox: events are spooled in their own durable queue (STATE/webhooks/spool)
 * and delivered by `run()` — at the end of `malist run`, by `malist serve` in the
 * background — never on the mail path: `emit` only writes the spool entry (and never
 * throws, so a full disk for events cannot stop a post). One entry per event, one
 * "recipient" per endpoint that wants it; the entry's ID is the event's, so an event told
 * twice is sent once.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { once } from '../../mail/lazy.ts';
import { createQueue, type Queue, type RunSummary } from '../../queue/queue.ts';
import type { RetryPolicy } from '../../queue/retry-policy.ts';
import { WEBHOOK_EVENTS, type WebhookEvent } from './events.ts';
import { createHttpTransport, type WebhookEndpoint } from './http-transport.ts';

export interface WebhookOptions extends WebhookEndpoint {
  /** Only these events. @default every event */
  events?: string[];
  /** Only these lists (short names). @default every list */
  lists?: string[];
}

/**
 * One `webhooks:` entry of malist.yaml (the secret from `secret_env` / `secret_file`), built
 * on first use: only a configuration with webhooks: needs it (config/schema.ts).
 */
export const webhookSchema = once(() =>
  z.strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/i, {
      error: 'expected a short name: letters, digits, . _ -',
    }),
    url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }),
    secret: z.string().min(16, { error: 'expected a secret of at least 16 characters' }),
    events: z.array(z.enum(WEBHOOK_EVENTS)).optional(),
    lists: z.array(z.string().min(1)).optional(),
  }),
);

export interface WebhookOutboxOptions {
  /** malist.yaml's state_dir: the spool is STATE/webhooks/spool. */
  stateDir: string;
  endpoints: WebhookOptions[];
  /** @default { initial_seconds: 30, factor: 2, max_seconds: 3600 } */
  retry?: RetryPolicy;
  /** @default 172800 (2 days) */
  expire_after_seconds?: number;
  /** Told when an event cannot be spooled. */
  log?: (line: string) => void;
  now?: () => number;
  timeout_ms?: number;
}

export interface WebhookOutbox {
  readonly queue: Queue;
  /** Spools `event` for every endpoint that wants it; never throws. */
  emit(event: WebhookEvent): Promise<void>;
  /** Delivers what is due (or everything, with `force`). */
  run(force?: boolean): Promise<RunSummary>;
  close(): Promise<void>;
}

function wants(endpoint: WebhookOptions, event: WebhookEvent): boolean {
  return (
    (!endpoint.events || endpoint.events.includes(event.type)) &&
    (!endpoint.lists || endpoint.lists.includes(event.list))
  );
}

export function createWebhookOutbox(options: WebhookOutboxOptions): WebhookOutbox {
  const queue = createQueue(
    {
      dir: join(options.stateDir, 'webhooks', 'spool'),
      retry: options.retry ?? { initial_seconds: 30, factor: 2, max_seconds: 3600 },
      expire_after_seconds: options.expire_after_seconds ?? 172_800,
      deliver_now: false,
    },
    {
      transport: createHttpTransport({
        endpoints: options.endpoints,
        ...(options.timeout_ms ? { timeout_ms: options.timeout_ms } : {}),
        ...(options.now ? { now: options.now } : {}),
      }),
      ...(options.now ? { now: options.now } : {}),
    },
  );
  return {
    queue,
    async emit(event) {
      const to = options.endpoints.filter((e) => wants(e, event)).map((e) => e.name);
      if (to.length === 0) return;
      try {
        await queue.enqueue(
          {
            id: event.id,
            raw: Buffer.from(JSON.stringify(event)),
            sender: '',
            recipients: to,
            list: event.list,
            messageId: event.id,
          },
          { deliverNow: false },
        );
      } catch (error) {
        options.log?.(`webhook event ${event.type} for ${event.list} not spooled: ${error}`);
      }
    },
    run: (force = false) => queue.run({ force }),
    close: () => queue.close(),
  };
}
