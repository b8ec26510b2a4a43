/**
 * Errors and control signals. Signals (Reject, Discard, Hold) are handled outcomes, not errors:
 * they do not extend Error, so a catch-all `instanceof Error` never mistakes one for a failure.
 */

/** Thrown by `Fetcher.fetch()` when the source has no more mail. */
export class NothingMore extends Error {
  override readonly name = 'NothingMore';
  constructor(message = 'no more mail') {
    super(message);
  }
}

export type SignalKind = 'reject' | 'discard' | 'hold';

/** A processor's decision about a mail. `unit` is filled in by the pipeline when empty. */
export abstract class Signal {
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
  readonly kind = 'reject' as const;
}

/** Drop the post silently (loops, auto-replies); the reason is logged. */
export class Discard extends Signal {
  readonly kind = 'discard' as const;
}

/** Keep the post for a moderator; `play()` stores it durably before acking. */
export class Hold extends Signal {
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
