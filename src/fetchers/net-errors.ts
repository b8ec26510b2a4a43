/**
 * Turns socket and TLS errors of the network fetchers (pop3, imap) into `StageError`s that
 * say what went wrong and what to do: the certificate problem by name, a refused port, a
 * server that went away. Credentials and unknown mailboxes are named by the fetcher itself.
 */
import { type ErrorCode, StageError } from '../errors.ts';

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

/** The error's `code` (own or of a cause), if any. */
export function errorCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The certificate problem in words, when `error` is a certificate verification failure. */
export function certificateProblem(error: unknown): string | undefined {
  const code = errorCode(error);
  return code ? CERTIFICATE_PROBLEMS[code] : undefined;
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
  const ca = ctx.caOption ?? 'ca_file';
  const problem = certificateProblem(error);
  const make = (message: string, errorCode: ErrorCode, temporary: boolean) =>
    new StageError(message, { code: errorCode, unit: ctx.unit, cause: error, temporary });
  if (problem) {
    return make(
      `TLS failed with ${ctx.where}: the server's certificate ${problem} (${code}). ` +
        (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === 'HOSTNAME_MISMATCH'
          ? 'Connect by the name the certificate carries, or set `servername`.'
          : `Name the CA that signed it in \`${ca}\` (a PEM file), or fix the server's certificate.`),
      'ETLS',
      false,
    );
  }
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
