/**
 * The keys both SMTP clients take (nodemailer's in distributors/smtp.ts, the bulk one in
 * smtp/bulk-client.ts): how to reach the server, and how to spread a post over it.
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

/**
 * Fan-out tuning. The defaults differ by client, because they are built for different
 * loads: the bulk client (the queue's default engine) pipelines many transactions per
 * connection; nodemailer's pool sends one at a time per connection.
 */
export interface SmtpFanoutOptions {
  /** Connections at once. @default 8 (bulk; 16 with `verp`), 5 (nodemailer) */
  max_connections?: number;
  /** Recipients per transaction (servers commonly allow 100). @default 100 (bulk), 50 (nodemailer) */
  max_recipients_per_transaction?: number;
  /** Transactions per connection before it is replaced. @default 10000 (bulk), 100 (nodemailer) */
  max_messages_per_connection?: number;
  /** Personalised mode: one transaction per recipient, sender `local+rcpt=domain@domain`. @default false */
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
