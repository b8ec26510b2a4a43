/**
 * The durable queue as a distributor (DESIGN.md, "The queue"): the post is delivered at once
 * over SMTP under an ID derived from the list and the fetched bytes, and what is left
 * (deferred recipients) is spooled before the report returns. The
 * report says, per recipient, `delivered`, `failed` (5xx: dead letter and notice) or
 * `queued` (the queue owns it now and retries it). Distributing the same post again, say
 * after a crash before the caller's journal, sends nothing twice.
 */

import { z } from 'zod';
import { sealPlanFor } from '../auth/seal-plan.ts';
import { ErrorCode, StageError } from '../errors.ts';
import { deferred, lazySchema } from '../mail/deferred-option.ts';
import { once } from '../mail/lazy.ts';
import { envelopeOf, messageId, sharedMailBytes } from '../mail/list-mail.ts';
import { optionalBoolean, optionalName, optionalPositive } from '../mail/shared-options.ts';
import { entryIdFor } from '../queue/entry-id.ts';
import {
  createQueue,
  type Queue,
  type QueueDeps,
  type QueueOptions,
  type RecipientFailure,
} from '../queue/queue.ts';
import type { QueueStore } from '../queue/store.ts';
import type { Transport } from '../queue/transport.ts';
import { createTransport } from '../smtp/engine.ts';
import { smtpDeprecations, smtpSchema } from '../smtp/schema.ts';
import type { SmtpOptions } from '../smtp/server-options.ts';
import type { MailgunOptions } from '../smtp/services/mailgun.ts';
import { engineIssues, serviceSchemas } from '../smtp/services/schema.ts';
import type { SesOptions } from '../smtp/services/ses.ts';
import { serviceTransport } from '../smtp/services/transport.ts';
import type { DeliveryReport, Distributor, ListMail, OptionsSchema, Reactor } from '../types.ts';

export interface QueueDistributorOptions extends QueueOptions {
  /** The SMTP server the queue delivers to. */
  smtp?: SmtpOptions;
  /** What carries the deliveries: an SMTP server, Amazon SES or Mailgun. @default 'smtp' */
  engine?: 'smtp' | 'ses' | 'mailgun';
  /** Amazon SES (with `engine: ses`). */
  ses?: SesOptions;
  /** Mailgun (with `engine: mailgun`). */
  mailgun?: MailgunOptions;
  /** Reactors told about dead letters (refused or expired recipients). */
  reactors?: Reactor[];
  /** Called with every dead-letter notice. */
  onFailure?: QueueDeps['onFailure'];
  /**
   * Called per recipient given up on (5xx now or at a later run, expiry): bounce records.
   * `self` is this distributor, for a notice about the refusal to go out the same way.
   */
  onRecipientFailed?(event: RecipientFailure, self: Distributor): void | Promise<void>;
  /** Each recipient's own bytes for a list that needs them (see QueueDeps). */
  personalise?: QueueDeps['personalise'];
  /** What signs (and seals) a list's copies in each round (see QueueDeps). */
  signer?: QueueDeps['signer'];
  /** Each recipient's own envelope sender (VERP with cookies; see QueueDeps). */
  sender?: QueueDeps['sender'];
  /** Told of recipients later queue runs delivered (the sent index; see QueueDeps). */
  onDelivered?: QueueDeps['onDelivered'];
  /** A transport instead of `smtp` (tests, LMTP, another queue). */
  transport?: Transport;
  /**
   * The queue's name in PostgreSQL, where several `type: queue` distributors on one
   * database keep apart by it (on files, by their `dir`). A named queue's entry IDs are
   * its own too. @default 'queue'
   */
  name?: string;
  /** Where the queue keeps its state (the composition root's choice). @default the spool in `dir` */
  store?: QueueStore;
  /** The store of the queue named `name` (the composition root's choice); wins over `store`. */
  storeFor?: (name: string) => QueueStore;
  /** The clock (ms), for tests. @default Date.now */
  now?: () => number;
}

/**
 * The options of `type: queue` as written in YAML, checked before the factory runs; the output
 * is the factory's options. A sending service's keys (`engine:`, `ses:`, `mailgun:`) are in
 * `wholeSchema`, made only for a queue that writes one.
 */
export const schema = lazySchema(() =>
  z.strictObject({
    dir: optionalName,
    // A process per mail checks these: what a plain queue does not write is built when
    // written (mail/deferred-option.ts says why).
    name: deferred(() =>
      z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, {
        error: 'expected a short name: letters, digits, . _ - (at most 64)',
      }),
    ),
    retry: deferred(() =>
      z.strictObject({
        initial_seconds: optionalPositive,
        factor: z.number().min(1).optional(),
        max_seconds: optionalPositive,
        jitter: z.number().min(0).max(1).optional(),
      }),
    ),
    expire_after_seconds: optionalPositive,
    alert_after: deferred(() =>
      z.union([
        z.number().positive(),
        z.string().regex(/^\d+(\.\d+)?\s*[smhd]?$/, {
          error: 'expected a duration: seconds, or 90s, 30m, 1h, 2d',
        }),
      ]),
    ),
    keep_done_seconds: optionalPositive,
    deliver_now: optionalBoolean,
    smtp: smtpSchema.optional(),
  }),
);

/**
 * `schema` with a sending service's keys (`engine:`, `ses:`, `mailgun:`: 91 zod objects that
 * every `malist receive` built when they sat in `schema`), made on first call. The
 * composition root checks against it the options `schema` refuses — those that write one of
 * these keys, and those with a mistake, whose messages then know every key.
 */
export const wholeSchema = once((): OptionsSchema => {
  const services = serviceSchemas();
  return schema
    .extend({
      engine: services.engine.optional(),
      ses: services.ses.optional(),
      mailgun: services.mailgun.optional(),
    })
    .superRefine((o, ctx) => {
      for (const issue of engineIssues(o, process.env)) ctx.addIssue({ code: 'custom', ...issue });
    });
});

/** The name of a queue that names none. */
export const DEFAULT_QUEUE = 'queue';

/**
 * A post's entry ID in this queue: the list's and the bytes' (entry-id.ts), and a named
 * queue's own, so one post through two queues on one database is two entries.
 */
function entryIdOf(name: string | undefined, list: string, key: string): string {
  return entryIdFor(name === undefined || name === DEFAULT_QUEUE ? list : `${list}\0${name}`, key);
}

/** The transport `options.engine` names. */
function transportOf(options: QueueDistributorOptions): Transport {
  if (options.transport) return options.transport;
  if (options.engine === 'ses' && options.ses)
    return serviceTransport({ engine: 'ses', ses: options.ses });
  if (options.engine === 'mailgun' && options.mailgun)
    return serviceTransport({ engine: 'mailgun', mailgun: options.mailgun });
  return createTransport(options.smtp ?? {});
}

/** The old TLS keys under `smtp:` (`secure`, `starttls`, `tls.ca`), with their new spelling. */
export const deprecated = (options: Record<string, unknown>) =>
  smtpDeprecations(options.smtp, ['smtp']);

/** The queue distributor, and the queue under it for runners (`queue` property). */
export default function createQueueDistributor(
  options: QueueDistributorOptions,
): Distributor & { queue: Queue } {
  const transport = transportOf(options);
  const onRecipientFailed = options.onRecipientFailed;
  const store = options.storeFor?.(options.name ?? DEFAULT_QUEUE) ?? options.store;
  const queue = createQueue(options, {
    transport,
    ...(store ? { store } : {}),
    ...(options.reactors ? { reactors: options.reactors } : {}),
    ...(options.onFailure ? { onFailure: options.onFailure } : {}),
    ...(onRecipientFailed
      ? { onRecipientFailed: (event: RecipientFailure) => onRecipientFailed(event, distributor) }
      : {}),
    ...(options.personalise ? { personalise: options.personalise } : {}),
    ...(options.signer ? { signer: options.signer } : {}),
    ...(options.sender ? { sender: options.sender } : {}),
    ...(options.onDelivered ? { onDelivered: options.onDelivered } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  const distributor: Distributor & { queue: Queue } = {
    name: 'queue',
    queue,
    async distribute(mail: ListMail): Promise<DeliveryReport> {
      const { from, to } = envelopeOf(mail, 'queue');
      const id = messageId(mail);
      try {
        // A distributor's caller keeps the mail at its source until the report is in
        // (play() journals, then acks): the first round needs no spool entry.
        const { results } = await queue.enqueue(
          {
            id: entryIdOf(options.name, mail.ml_list_name ?? mail.ml_list ?? '', mail.key),
            raw: sharedMailBytes(mail),
            sender: from,
            recipients: to,
            ...(mail.ml_list_name ? { list: mail.ml_list_name } : {}),
            ...(id ? { messageId: id } : {}),
            key: mail.key,
            // The list's verification of the post: each copy's ARC seal carries it.
            ...(mail.ml_auth ? { seal: sealPlanFor(mail.ml_auth) } : {}),
          },
          { sourceKept: true },
        );
        return { results: results.map((r) => ({ ...r, distributor: 'queue' })) };
      } catch (error) {
        if (error instanceof StageError) throw error;
        throw new StageError('could not spool the post; nothing is assumed delivered', {
          code: ErrorCode.STORAGE,
          unit: 'queue',
          messageId: id,
          cause: error,
          temporary: true,
        });
      }
    },
    close: () => queue.close(),
  };
  return distributor;
}
