/**
 * SMTP and LMTP delivery on nodemailer: a pool of connections, recipients batched per
 * transaction, or one transaction per recipient (VERP, personal copies). The raw bytes go
 * out as they are (nodemailer's `raw` with an explicit envelope: no re-serialisation).
 *
 * Per-recipient truth comes from the server's answers (smtp/outcome.ts). A dropped
 * connection fails the transaction (nodemailer `maxRequeues: 0`) instead of being silently
 * sent again by the pool: the durable queue decides about retries, with its sent-log, so
 * nothing goes out twice behind its back. The queue's default engine for SMTP is the bulk
 * client (bulk-client.ts); this one carries LMTP, `engine: nodemailer`, `queue --smtp`,
 * `malist sendmail` and the `smtp` distributor.
 */
import { readFileSync } from 'node:fs';
import type SMTPPool from 'nodemailer/lib/smtp-pool';
import { verpAddress } from '../mail/verp.ts';
import type { SendJob, Transport } from '../queue/transport.ts';
import type { RecipientResult } from '../types.ts';
import { mapLimited } from './limit.ts';
import { outcomeOfError, outcomeOfSuccess, type SmtpErrorLike } from './outcome.ts';
import {
  type ResolvedSmtpOptions,
  resolveSmtpOptions,
  type SmtpOptions,
} from './server-options.ts';

/** A CA given as PEM text is used as it is; anything else is the path of a PEM file. */
function caOf(ca: string | Buffer): string | Buffer {
  return typeof ca === 'string' && !ca.includes('-----BEGIN') ? readFileSync(ca) : ca;
}

function poolOptions(o: ResolvedSmtpOptions): SMTPPool.Options {
  return {
    pool: true,
    host: o.host,
    port: o.port,
    secure: o.secure,
    requireTLS: !o.secure && o.starttls === 'required',
    ignoreTLS: !o.secure && o.starttls === 'never',
    ...(o.name ? { name: o.name } : {}),
    ...(o.auth ? { auth: { user: o.auth.user, pass: o.auth.pass, method: o.auth.method } } : {}),
    tls: {
      ...(o.tls?.ca ? { ca: caOf(o.tls.ca) } : {}),
      ...(o.tls?.servername ? { servername: o.tls.servername } : {}),
      rejectUnauthorized: o.tls?.reject_unauthorized ?? true,
    },
    lmtp: o.lmtp,
    maxConnections: o.max_connections,
    maxMessages: o.max_messages_per_connection,
    // A connection dropped mid-transaction must not be re-sent by the pool: the server may
    // already have taken the message, and only the queue (with its sent-log) may retry.
    maxRequeues: 0,
    connectionTimeout: o.connection_timeout_ms,
    greetingTimeout: o.greeting_timeout_ms,
    socketTimeout: o.socket_timeout_ms,
    dnsTimeout: o.connection_timeout_ms,
    logger: false,
    debug: false,
  };
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The SMTP transport: a nodemailer pool and the batching/VERP plan around it. */
export function createSmtpTransport(options: SmtpOptions = {}): Transport {
  const o = resolveSmtpOptions(options);
  // nodemailer (~14 MB) is loaded when this transport first sends: the queue's default
  // engine is the bulk client, and a process that never uses this one never pays for it.
  let pool: Promise<ReturnType<typeof import('nodemailer').createTransport>> | undefined;
  const poolOf = () => {
    pool ??= import('nodemailer').then(({ default: nodemailer }) =>
      nodemailer.createTransport(poolOptions(o)),
    );
    return pool;
  };
  const name = o.lmtp ? 'lmtp' : 'smtp';

  const transaction = async (
    from: string,
    to: string[],
    raw: Buffer,
  ): Promise<RecipientResult[]> => {
    try {
      const info = await (await poolOf()).sendMail({
        raw,
        envelope: { from: from === '' ? false : from, to },
        signal: AbortSignal.timeout(o.transaction_timeout_ms),
      });
      return outcomeOfSuccess(to, info, name);
    } catch (error) {
      return outcomeOfError(to, error as SmtpErrorLike, name);
    }
  };

  return {
    name,
    async send(job: SendJob): Promise<RecipientResult[]> {
      const unique = [...new Map(job.to.map((r) => [r.toLowerCase(), r])).values()];
      // A job's own senderFor (a list's VERP with cookies) wins: nothing is encoded twice.
      const senderFor =
        job.senderFor ??
        (o.verp ? (r: string) => verpAddress(job.from, r, o.verp_delimiter) : undefined);
      const batches =
        senderFor || job.personalise
          ? unique.map((r) => [r])
          : chunk(unique, o.max_recipients_per_transaction);
      const done = await mapLimited(batches, o.max_connections, async (batch) => {
        if (job.stopped?.()) return notStarted(batch, name);
        const from = senderFor && batch[0] ? senderFor(batch[0]) : job.from;
        const raw = job.personalise && batch[0] ? job.personalise(batch[0]) : job.raw;
        const results = await transaction(from, batch, raw);
        await job.onTransaction?.(results);
        return results;
      });
      return done.flat();
    },
    async close() {
      (await pool)?.close();
    },
  };
}

/** A batch a stopped job never started (SendJob.stopped): deferred, nothing sent. */
function notStarted(to: string[], distributor: string): RecipientResult[] {
  return to.map((recipient) => ({
    recipient,
    status: 'deferred',
    distributor,
    response: 'not attempted: the send was stopped',
  }));
}
