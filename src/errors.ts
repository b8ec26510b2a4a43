/**
 * Errors and control signals. Signals (Reject, Discard, Hold) are handled outcomes, not errors:
 * they do not extend Error, so a catch-all `instanceof Error` never mistakes one for a failure.
 *
 * `instanceof` on these classes goes by a brand (a `Symbol.for` key on the prototype), not by
 * identity: the `malist` command runs a bundle (dist/bin/) with its own copy of this module,
 * while a custom unit imports the package's (`import { Reject } from 'malist'`), and its
 * `throw new Reject(…)` must still be a reject, its `StageError` still temporary.
 */

/** The key under which a class keeps its brand (`Symbol.for('malist.NAME')`). */
const BRAND = Symbol.for('malist.brand');

/**
 * Brands `cls` as `name`: its instances (and its subclasses') carry the brand, and
 * `x instanceof cls` is true for an instance from any copy of this module.
 */
function brand(cls: abstract new (...args: never[]) => object, name: string): void {
  const key = Symbol.for(`malist.${name}`);
  Object.defineProperty(cls.prototype, key, { value: true });
  Object.defineProperty(cls, BRAND, { value: key });
  Object.defineProperty(cls, Symbol.hasInstance, { value: branded });
}

/** `instanceof` by brand for a branded class; ordinary `instanceof` for a subclass of one. */
function branded(this: object, value: unknown): boolean {
  if (!Object.hasOwn(this, BRAND)) return Function.prototype[Symbol.hasInstance].call(this, value);
  const key = (this as { [BRAND]: symbol })[BRAND];
  return (
    typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[key] === true
  );
}

/** Thrown by `Fetcher.fetch()` when the source has no more mail. */
export class NothingMore extends Error {
  static {
    brand(NothingMore, 'NothingMore');
  }
  override readonly name = 'NothingMore';
  constructor(message = 'no more mail') {
    super(message);
  }
}

export type SignalKind = 'reject' | 'discard' | 'hold';

/** A processor's decision about a mail. `unit` is filled in by the pipeline when empty. */
export abstract class Signal {
  static {
    brand(Signal, 'Signal');
  }
  abstract readonly kind: SignalKind;
  unit: string;
  constructor(
    readonly reason: string,
    unit = '',
  ) {
    this.unit = unit;
  }
  get message(): string {
    return `${this.kind}: ${this.reason}`;
  }
  toString(): string {
    return this.message;
  }
}

/** Refuse the post and tell the poster why (unless the poster is automated). */
export class Reject extends Signal {
  static {
    brand(Reject, 'Reject');
  }
  readonly kind = 'reject' as const;
}

/**
 * Drop the post silently (loops, auto-replies); the reason is logged. With `forward:
 * 'owner'`, the list's owners are sent the mail (a robot's mail to a posting address).
 */
export class Discard extends Signal {
  static {
    brand(Discard, 'Discard');
  }
  readonly kind = 'discard' as const;
  constructor(
    reason: string,
    unit = '',
    readonly forward?: 'owner',
  ) {
    super(reason, unit);
  }
}

/** Keep the post for a moderator; `play()` stores it durably before acking. */
export class Hold extends Signal {
  static {
    brand(Hold, 'Hold');
  }
  readonly kind = 'hold' as const;
}

export function isSignal(value: unknown): value is Signal {
  return value instanceof Signal;
}

/** The central table of error codes (nodemailer style): what went wrong, not where. */
export const ErrorCode = {
  /** Invalid configuration (file, line and fix in the message). */
  CONFIG: 'ECONFIG',
  /** The message could not be parsed or lacks what the unit needs. */
  MESSAGE: 'EMESSAGE',
  /** A unit threw something unexpected. */
  UNIT: 'EUNIT',
  /** The envelope is missing (no ml_sender / ml_send_to). */
  ENVELOPE: 'EENVELOPE',
  /** A durable write (journal, spool, quarantine) failed. */
  STORAGE: 'ESTORAGE',
  /** The network or server is unreachable or answered with a temporary failure. */
  CONNECTION: 'ECONNECTION',
  /** The server refused credentials. */
  AUTH: 'EAUTH',
  /** TLS handshake or certificate failure. */
  TLS: 'ETLS',
  /** A message exceeds a size limit. */
  SIZE: 'ESIZE',
  /** A protocol answer that makes no sense. */
  PROTOCOL: 'EPROTOCOL',
  /** A copy's DKIM signature or ARC seal failed its self-check, or a key is unusable. */
  SIGNATURE: 'ESIGNATURE',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface StageErrorInit {
  code: ErrorCode;
  unit: string;
  messageId?: string;
  cause?: unknown;
  /** True when trying again later may succeed (marrow.mailer's "retry the message"). */
  temporary?: boolean;
}

/**
 * An error a unit raises: says what happened, to which message, and what to do.
 * `cause` carries the original error.
 */
export class StageError extends Error {
  static {
    brand(StageError, 'StageError');
  }
  override readonly name = 'StageError';
  readonly code: ErrorCode;
  readonly unit: string;
  readonly messageId: string | undefined;
  readonly temporary: boolean;
  constructor(message: string, init: StageErrorInit) {
    super(
      init.messageId
        ? `${init.unit}: ${message} (Message-ID ${init.messageId})`
        : `${init.unit}: ${message}`,
      { cause: init.cause },
    );
    this.code = init.code;
    this.unit = init.unit;
    this.messageId = init.messageId;
    this.temporary = init.temporary ?? false;
  }
}

/** The message of any thrown value, with its cause chain, for logs. */
export function describeError(error: unknown): string {
  if (error instanceof Signal) return error.message;
  if (!(error instanceof Error)) return String(error);
  let text = error.message;
  let cause: unknown = error.cause;
  for (let depth = 0; cause !== undefined && depth < 5; depth++) {
    text += `: ${cause instanceof Error ? cause.message : String(cause)}`;
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return text;
}

// Socket and TLS errors of the network clients (POP3, IMAP, SMTP) as `StageError`s that say
// what went wrong and what to do: the certificate problem by name, a refused port, a server
// that went away. Credentials and unknown mailboxes are named by the client itself.

/** Node's certificate verification codes, in words a user can act on. */
const CERTIFICATE_PROBLEMS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'is self-signed and not trusted',
  SELF_SIGNED_CERT_IN_CHAIN: 'is signed by a self-signed CA that is not trusted',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'is signed by an unknown CA',
  UNABLE_TO_GET_ISSUER_CERT: 'is signed by an unknown CA',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'is signed by an unknown CA',
  CERT_HAS_EXPIRED: 'has expired',
  CERT_NOT_YET_VALID: 'is not valid yet',
  CERT_REVOKED: 'is revoked',
  CERT_SIGNATURE_FAILURE: 'has a bad signature',
  ERR_TLS_CERT_ALTNAME_INVALID: 'does not name this host',
  HOSTNAME_MISMATCH: 'does not name this host',
};

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
]);

/**
 * PostgreSQL's SQLSTATEs for a server that cannot take work now but will: a connection
 * exception (class 08), a shutdown or a start under way (57P01–57P03), too many connections
 * (53300).
 */
const DATABASE_AWAY = /^(08...|57P0[123]|53300)$/;

/**
 * A server that cannot be reached now, or went away (the network, a restarting database):
 * waiting cures it, so the mail in hand stays at its source (`malist receive` exits 75)
 * instead of being refused as a configuration error.
 */
export function isUnreachable(error: unknown): boolean {
  const code = errorCode(error);
  if (code && (CONNECTION_CODES.has(code) || DATABASE_AWAY.test(code))) return true;
  // node-postgres's own words for a connection the server closed.
  return /Connection terminated|server closed the connection/i.test(describeError(error));
}

/** The error's `code` (own or of a cause), if any. */
export function errorCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * A claim that another process holds, or took over from this one (the journal's claim on a
 * mail, a digest issue's): waiting cures it. Its code, EBUSY, is a storage code (below), so
 * the mail stays at its source rather than in the quarantine, and `malist receive` exits 75.
 */
export class ClaimError extends Error {
  readonly code = 'EBUSY';
  readonly temporary = true;
}

/**
 * File-system errors that waiting (or an operator) may cure: permissions, a full or
 * read-only disk, an I/O error, too many open files. Mail that meets one is not a poison
 * message: it stays at its source (`malist receive` exits 75) instead of the quarantine.
 */
const STORAGE_CODES = new Set([
  'EACCES',
  'EPERM',
  'ENOSPC',
  'EDQUOT',
  'EROFS',
  'EIO',
  'EMFILE',
  'ENFILE',
  'EBUSY',
]);

/** The storage error code (EACCES, ENOSPC, …) in `error` or its causes, if any. */
export function storageErrorCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 8; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && STORAGE_CODES.has(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The certificate problem in words, when `error` is a certificate verification failure. */
export function certificateProblem(error: unknown): string | undefined {
  const code = errorCode(error);
  return code ? CERTIFICATE_PROBLEMS[code] : undefined;
}

/**
 * A certificate verification failure in words with its fix, or undefined when `error` is
 * none: "the server's certificate is signed by an unknown CA (UNABLE_TO_VERIFY_LEAF_SIGNATURE):
 * name the CA that signed it in `ca_file` (a PEM file), or fix the server's certificate".
 */
export function certificateAdvice(error: unknown, caOption = 'ca_file'): string | undefined {
  const problem = certificateProblem(error);
  if (!problem) return undefined;
  const code = errorCode(error);
  return (
    `the server's certificate ${problem} (${code}): ` +
    (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === 'HOSTNAME_MISMATCH'
      ? 'connect by the name the certificate carries, or set `servername`'
      : `name the CA that signed it in \`${caOption}\` (a PEM file), or fix the server's certificate`)
  );
}

/** True for a TLS failure of any kind (certificate, protocol, handshake). */
export function isTlsError(error: unknown): boolean {
  const code = errorCode(error) ?? '';
  return (
    code in CERTIFICATE_PROBLEMS ||
    code.startsWith('ERR_SSL') ||
    code.startsWith('ERR_TLS') ||
    code === 'EPROTO' ||
    (error as { tlsFailed?: boolean })?.tlsFailed === true
  );
}

export interface NetErrorContext {
  /** The unit name: `pop3`, `imap`. */
  unit: string;
  /** "pop3 server 127.0.0.1:995 (implicit TLS)" — where the error happened. */
  where: string;
  /** The option that names the CA, for the hint. @default 'ca_file' */
  caOption?: string;
}

/**
 * A `StageError` for a failure to reach or talk to the server: TLS (certificate problem
 * named) or connection (refused, reset, timed out, closed). Returns undefined when the
 * error is neither, so the caller names it.
 */
export function netError(error: unknown, ctx: NetErrorContext): StageError | undefined {
  if (error instanceof StageError) return error;
  const code = errorCode(error);
  const advice = certificateAdvice(error, ctx.caOption);
  const make = (message: string, errorCode: ErrorCode, temporary: boolean) =>
    new StageError(message, { code: errorCode, unit: ctx.unit, cause: error, temporary });
  if (advice) return make(`TLS failed with ${ctx.where}: ${advice}.`, 'ETLS', false);
  if (isTlsError(error)) {
    return make(
      `TLS handshake with ${ctx.where} failed (${code ?? (error as Error)?.message}): ` +
        'check that the port matches the `tls` mode (implicit TLS on 993/995, STARTTLS on 143/110).',
      'ETLS',
      false,
    );
  }
  if (code && CONNECTION_CODES.has(code)) {
    const what =
      code === 'ECONNREFUSED'
        ? 'connection refused: is the server running and the port right?'
        : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
          ? 'host name not found: check `host`.'
          : code === 'ETIMEDOUT'
            ? 'timed out: the server did not answer.'
            : `the connection failed (${code}); will try again next run.`;
    return make(`cannot talk to ${ctx.where}: ${what}`, 'ECONNECTION', true);
  }
  return undefined;
}

/** A `StageError` for a server that went away mid-session. */
export function goneError(error: unknown, ctx: NetErrorContext): StageError {
  return (
    netError(error, ctx) ??
    new StageError(
      `${ctx.where} closed the connection (${(error as Error)?.message ?? String(error)}); ` +
        'unacknowledged mail stays on the server for the next run.',
      { code: 'ECONNECTION', unit: ctx.unit, cause: error, temporary: true },
    )
  );
}
