/**
 * SMTP delivery on nodemailer: a pool of connections with pipelining, recipients batched
 * per transaction, or one transaction per recipient with a VERP sender. The raw bytes go
 * out as they are (nodemailer's `raw` with an explicit envelope: no re-serialisation).
 *
 * Per-recipient truth comes from the server's answers (see queue/smtp-outcome.ts). A
 * dropped connection fails the transaction (nodemailer `maxRequeues: 0`) instead of being
 * silently sent again by the pool: the durable queue decides about retries, with its
 * sent-log, so nothing goes out twice behind its back.
 *
 * This distributor on its own keeps no state: a repeat after a crash sends again. Use the
 * `queue` distributor (which uses this transport) for crash-safe, exactly-once delivery.
 */
import { readFileSync } from 'node:fs';
import type SMTPPool from 'nodemailer/lib/smtp-pool';
import { envelopeOf, mailBytes, messageId } from '../mail/list-mail.ts';
import { mapLimited } from '../queue/limit.ts';
import { outcomeOfError, outcomeOfSuccess, type SmtpErrorLike } from '../queue/smtp-outcome.ts';
import type { SendJob, Transport } from '../queue/transport.ts';
import { verpAddress } from '../queue/verp.ts';
import {
  positiveOption,
  type SmtpFanoutOptions,
  type SmtpServerOptions,
} from '../smtp/server-options.ts';
import type { DeliveryReport, Distributor, ListMail, RecipientResult } from '../types.ts';

/** A CA given as PEM text is used as it is; anything else is the path of a PEM file. */
function caOf(ca: string | Buffer): string | Buffer {
  return typeof ca === 'string' && !ca.includes('-----BEGIN') ? readFileSync(ca) : ca;
}

export interface SmtpOptions extends SmtpServerOptions, SmtpFanoutOptions {
  /** Speak LMTP instead of SMTP (per-recipient answers after DATA). @default false */
  lmtp?: boolean;
  /**
   * The client the durable queue delivers with (smtp/engine.ts): `bulk`, the pipelined
   * fan-out client (smtp/bulk-client.ts), or `nodemailer`, this module. LMTP always uses
   * nodemailer. Other users of this module ignore it.
   * @default 'bulk'
   */
  engine?: 'bulk' | 'nodemailer';
}

type Resolved = Required<Omit<SmtpOptions, 'auth' | 'tls' | 'name' | 'starttls' | 'engine'>> &
  Pick<SmtpOptions, 'auth' | 'tls' | 'name'> & { starttls: NonNullable<SmtpOptions['starttls']> };

function resolve(options: SmtpOptions): Resolved {
  const positive = (value: number | undefined, fallback: number, key: string) =>
    positiveOption(value, fallback, key, 'smtp');
  const secure = options.secure ?? false;
  return {
    host: options.host ?? 'localhost',
    port: positive(options.port, secure ? 465 : 25, 'port'),
    secure,
    starttls: options.starttls ?? (options.auth ? 'required' : 'opportunistic'),
    tls: options.tls,
    auth: options.auth,
    name: options.name,
    lmtp: options.lmtp ?? false,
    max_connections: positive(options.max_connections, 5, 'max_connections'),
    max_recipients_per_transaction: positive(
      options.max_recipients_per_transaction,
      50,
      'max_recipients_per_transaction',
    ),
    max_messages_per_connection: positive(
      options.max_messages_per_connection,
      100,
      'max_messages_per_connection',
    ),
    verp: options.verp ?? false,
    verp_delimiter: options.verp_delimiter ?? '+',
    connection_timeout_ms: positive(options.connection_timeout_ms, 30_000, 'connection_timeout_ms'),
    greeting_timeout_ms: positive(options.greeting_timeout_ms, 30_000, 'greeting_timeout_ms'),
    socket_timeout_ms: positive(options.socket_timeout_ms, 60_000, 'socket_timeout_ms'),
    transaction_timeout_ms: positive(
      options.transaction_timeout_ms,
      300_000,
      'transaction_timeout_ms',
    ),
  };
}

function poolOptions(o: Resolved): SMTPPool.Options {
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
  const o = resolve(options);
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
      const batches =
        o.verp || job.personalise
          ? unique.map((r) => [r])
          : chunk(unique, o.max_recipients_per_transaction);
      const done = await mapLimited(batches, o.max_connections, async (batch) => {
        const from =
          o.verp && batch[0] ? verpAddress(job.from, batch[0], o.verp_delimiter) : job.from;
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

/**
 * Sends a list mail straight over SMTP, without the durable queue. Deferred recipients are
 * reported, not retried: prefer `queue` unless the caller keeps its own records.
 */
export default function createSmtpDistributor(options: SmtpOptions = {}): Distributor {
  const transport = createSmtpTransport(options);
  return {
    name: 'smtp',
    async distribute(mail: ListMail): Promise<DeliveryReport> {
      const { from, to } = envelopeOf(mail, 'smtp');
      const results = await transport.send({
        from,
        to,
        raw: mailBytes(mail),
        messageId: messageId(mail),
      });
      return { results };
    },
    close: () => transport.close(),
  };
}
