/**
 * The public API for applications: send mail through malist's durable queue.
 *
 * ```ts
 * const mailer = createMailer({ queue: { dir: '/var/spool/malist' }, smtp: { host: 'localhost' } });
 * await mailer.send({ from: 'app@example.com', to: 'a@example.com', subject: 'Hi', text: 'Hello' });
 * await mailer.send(rawBytes);                       // envelope from the headers (Bcc stripped)
 *
 * const tx = mailer.begin();                         // zope.sendmail style
 * await tx.send(message);                            // spooled but invisible
 * await tx.commit();                                 // now queued and delivered; or tx.abort()
 * ```
 *
 * A message object is composed by nodemailer's MailComposer (text, html, attachments,
 * embedded images via `cid:`); raw bytes are sent as they are.
 */
import MailComposer from 'nodemailer/lib/mail-composer';
import { ErrorCode, StageError } from './errors.ts';
import { normalizeAddress } from './mail/address.ts';
import { uniqueEntryId } from './queue/entry-id.ts';
import {
  createQueue,
  type EnqueueInput,
  type QueueDeps,
  type QueueOptions,
  type RunSummary,
} from './queue/queue.ts';
import type { EnqueueOutcome } from './queue/spool.ts';
import type { StoredEntry } from './queue/store.ts';
import { prepareSubmission } from './queue/submission.ts';
import type { Transport } from './queue/transport.ts';
import { createSmtpTransport } from './smtp/nodemailer.ts';
import type { SmtpOptions } from './smtp/server-options.ts';
import type { Reactor, RecipientResult } from './types.ts';

/** A nodemailer message object (from, to, cc, bcc, subject, text, html, attachments, …). */
export type MessageObject = ConstructorParameters<typeof MailComposer>[0];

export interface MailerOptions {
  /** The spool: where mail waits until the server has it. */
  queue: QueueOptions;
  /** The SMTP server. */
  smtp?: SmtpOptions;
  /** A transport instead of `smtp`. */
  transport?: Transport;
  /** Told about dead letters (refused or expired recipients). */
  reactors?: Reactor[];
  onFailure?: QueueDeps['onFailure'];
}

/** An explicit envelope, overriding what the message's headers say. */
export interface Envelope {
  from?: string;
  to?: string | string[];
}

export interface SendResult {
  /** The spool entry ID (for `malist queue list`). */
  id: string;
  messageId: string;
  /** Per recipient: delivered, failed, or queued (the queue retries it). */
  results: RecipientResult[];
}

export interface MailerTransaction {
  /** Spools a message invisibly; nothing is sent unless the transaction commits. */
  send(message: Buffer | string | MessageObject, envelope?: Envelope): Promise<string>;
  /** Makes every message of the transaction visible to the queue, then delivers them. */
  commit(): Promise<SendResult[]>;
  /** Throws the transaction's messages away. */
  abort(): Promise<void>;
}

export interface Mailer {
  send(message: Buffer | string | MessageObject, envelope?: Envelope): Promise<SendResult>;
  begin(): MailerTransaction;
  /** One queue run (what cron's `malist queue run` does), for long-running applications. */
  runQueue(): Promise<RunSummary>;
  close(): Promise<void>;
}

function toList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

async function compose(
  message: Buffer | string | MessageObject,
  envelope: Envelope = {},
): Promise<EnqueueInput> {
  const to = toList(envelope.to);
  let raw: Buffer;
  let fromHeaders = to.length === 0;
  let sender = envelope.from;
  if (Buffer.isBuffer(message) || typeof message === 'string') {
    raw = Buffer.isBuffer(message) ? message : Buffer.from(message);
  } else {
    const node = new MailComposer(message).compile();
    const generated = node.getEnvelope();
    if (to.length === 0) to.push(...(generated.to ?? []));
    sender ??= generated.from === false ? '' : (generated.from ?? undefined);
    raw = await node.build();
    fromHeaders = false;
  }
  let submission: ReturnType<typeof prepareSubmission>;
  try {
    submission = prepareSubmission(raw, {
      recipients: to,
      fromHeaders,
      ...(sender !== undefined ? { sender } : {}),
    });
  } catch (error) {
    throw new StageError('the message has no recipients; nothing was queued', {
      code: ErrorCode.ENVELOPE,
      unit: 'mailer',
      cause: error,
    });
  }
  return {
    id: uniqueEntryId(),
    raw: submission.raw,
    sender: submission.sender,
    recipients: submission.recipients.filter((r) => normalizeAddress(r) !== ''),
    messageId: submission.messageId,
  };
}

/** Creates a mailer on a spool directory and an SMTP server. */
export function createMailer(options: MailerOptions): Mailer {
  const transport = options.transport ?? createSmtpTransport(options.smtp ?? {});
  const queue = createQueue(options.queue, {
    transport,
    ...(options.reactors ? { reactors: options.reactors } : {}),
    ...(options.onFailure ? { onFailure: options.onFailure } : {}),
  });

  /** Delivers a committed entry at once (when configured); a pending recipient is `queued`. */
  const finish = async (input: EnqueueInput, outcome: EnqueueOutcome): Promise<SendResult> => {
    let results: RecipientResult[] | undefined;
    if (outcome.status === 'queued' && (options.queue.deliver_now ?? true)) {
      // Safe on disk already: a failure now is the runner's to retry, not the caller's.
      results = await queue.deliver(outcome.id).catch(() => undefined);
    }
    results ??= input.recipients.map((recipient) => ({
      recipient,
      status: 'queued',
      distributor: transport.name,
    }));
    return { id: outcome.id, messageId: input.messageId ?? '', results };
  };

  return {
    async send(message, envelope) {
      const input = await compose(message, envelope);
      const prepared = await queue.prepare(input);
      return finish(input, await prepared.commit());
    },
    begin() {
      const staged: Array<{ input: EnqueueInput; prepared: StoredEntry }> = [];
      let state: 'open' | 'committed' | 'aborted' = 'open';
      const ensureOpen = () => {
        if (state !== 'open') throw new Error(`the transaction is already ${state}`);
      };
      return {
        async send(message, envelope) {
          ensureOpen();
          const input = await compose(message, envelope);
          staged.push({ input, prepared: await queue.prepare(input) });
          return input.id;
        },
        async commit() {
          ensureOpen();
          state = 'committed';
          // Every message becomes visible before any is sent: a crash part-way leaves the
          // rest spooled for the runner, never half a transaction lost.
          const outcomes = [];
          for (const { input, prepared } of staged) {
            outcomes.push({ input, outcome: await prepared.commit() });
          }
          const results: SendResult[] = [];
          for (const { input, outcome } of outcomes) results.push(await finish(input, outcome));
          return results;
        },
        async abort() {
          if (state !== 'open') return;
          state = 'aborted';
          for (const { prepared } of staged) await prepared.abort();
        },
      };
    },
    runQueue: () => queue.run(),
    close: () => queue.close(),
  };
}
