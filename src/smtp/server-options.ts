/**
 * The keys both SMTP clients take (nodemailer's in smtp/nodemailer.ts, the bulk one in
 * smtp/bulk-client.ts): how to reach the server, and how to spread a post over it. Their
 * defaults are resolved here, in one place, for both.
 */
import { ErrorCode, StageError } from '../errors.ts';

export interface SmtpServerOptions {
  /** Server host name or address. @default 'localhost' */
  host?: string;
  /** Server port. @default 465 with `secure`, else 25 */
  port?: number;
  /** Implicit TLS from the first byte (port 465 style). @default false */
  secure?: boolean;
  /**
   * STARTTLS policy when not `secure`: `required` fails rather than talk in clear text,
   * `opportunistic` upgrades when offered, `never` does not try.
   * @default 'required' when `auth` is set, else 'opportunistic'
   */
  starttls?: 'required' | 'opportunistic' | 'never';
  /** TLS settings: a private CA (PEM text or a file path), or (tests only) not verifying the certificate. */
  tls?: { ca?: string | Buffer; reject_unauthorized?: boolean; servername?: string };
  /** SMTP AUTH credentials; the password is already resolved (password_env / password_file) and never logged. */
  auth?: { user: string; pass: string; method?: string };
  /** Name to send with EHLO. @default the machine's host name */
  name?: string;
}

/** Fan-out tuning, the same for both clients. */
export interface SmtpFanoutOptions {
  /**
   * Connections at once. One transaction per member (VERP) keeps each connection waiting a
   * round trip and a sent-log fsync per member, so it takes more; 16 stays under what
   * Postfix's own client opens to one destination (default_destination_concurrency_limit = 20).
   * @default 8, 16 with `verp`
   */
  max_connections?: number;
  /** Recipients per transaction (RFC 5321 §4.5.3.1.8: servers must take at least 100). @default 100 */
  max_recipients_per_transaction?: number;
  /** Transactions per connection before it is replaced. @default 10000 */
  max_messages_per_connection?: number;
  /**
   * Plain VERP for API callers: one transaction per recipient, sender
   * `local+rcpt=domain@domain`, no cookie. A job's own `senderFor` (a list's VERP with
   * cookies, made by the queue) wins over it. Not a YAML setting. @default false
   */
  verp?: boolean;
  /** The character between the bounce address's local part and the recipient. @default '+' */
  verp_delimiter?: string;
  /** Time to open the TCP (and TLS) connection, ms. @default 30000 */
  connection_timeout_ms?: number;
  /** Time to wait for the greeting, ms. @default 30000 */
  greeting_timeout_ms?: number;
  /** Deadline for each reply, and for silence on the socket, ms. @default 60000 */
  socket_timeout_ms?: number;
  /**
   * Upper bound on one transaction up to the reply to its final dot, ms (RFC 5321 allows
   * 10 min): a server that trickles its replies keeps the socket busy, so only this notices.
   * @default 300000
   */
  transaction_timeout_ms?: number;
}

/** `value`, or `fallback` when unset; anything but a positive number is an ECONFIG naming the key. */
export function positiveOption(
  value: number | undefined,
  fallback: number,
  key: string,
  unit: string,
): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v <= 0) {
    throw new StageError(`option ${key} must be a positive number, got ${String(value)}`, {
      code: ErrorCode.CONFIG,
      unit,
    });
  }
  return v;
}

/** Every SMTP option: the server, the fan-out, and which client carries the queue's mail. */
export interface SmtpOptions extends SmtpServerOptions, SmtpFanoutOptions {
  /** Speak LMTP instead of SMTP (per-recipient answers after DATA). @default false */
  lmtp?: boolean;
  /**
   * The client the durable queue delivers with (smtp/engine.ts): `bulk`, the pipelined
   * fan-out client (smtp/bulk-client.ts), or `nodemailer` (smtp/nodemailer.ts). LMTP always
   * uses nodemailer.
   * @default 'bulk'
   */
  engine?: 'bulk' | 'nodemailer';
}

/** Connections at once unless `max_connections` says otherwise (see SmtpFanoutOptions). */
export const DEFAULT_CONNECTIONS = { batched: 8, verp: 16 } as const;

/** The options with every default applied; invalid numbers are an ECONFIG naming the key. */
export type ResolvedSmtpOptions = Required<Omit<SmtpOptions, 'auth' | 'tls' | 'name' | 'engine'>> &
  Pick<SmtpOptions, 'auth' | 'tls' | 'name'> & { engine: NonNullable<SmtpOptions['engine']> };

/** The one place SMTP defaults are decided, for both clients. */
export function resolveSmtpOptions(options: SmtpOptions, unit = 'smtp'): ResolvedSmtpOptions {
  const positive = (value: number | undefined, fallback: number, key: string) =>
    positiveOption(value, fallback, key, unit);
  const secure = options.secure ?? false;
  const verp = options.verp ?? false;
  return {
    host: options.host ?? 'localhost',
    port: positive(options.port, secure ? 465 : 25, 'port'),
    secure,
    starttls: options.starttls ?? (options.auth ? 'required' : 'opportunistic'),
    tls: options.tls,
    auth: options.auth,
    name: options.name,
    lmtp: options.lmtp ?? false,
    engine: options.engine ?? 'bulk',
    max_connections: positive(
      options.max_connections,
      verp ? DEFAULT_CONNECTIONS.verp : DEFAULT_CONNECTIONS.batched,
      'max_connections',
    ),
    max_recipients_per_transaction: positive(
      options.max_recipients_per_transaction,
      100,
      'max_recipients_per_transaction',
    ),
    max_messages_per_connection: positive(
      options.max_messages_per_connection,
      10_000,
      'max_messages_per_connection',
    ),
    verp,
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
