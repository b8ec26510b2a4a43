/**
 * A server's answer as an operator reads it: the reply code once (`550 5.1.1 no such user`,
 * never `550 550 5.1.1 …` — the response text of most transports already starts with its
 * code), and what kind of problem it is. The kind decides whether a run needs the operator:
 * a refused password or a failed TLS handshake never cures itself, a greylisting 451 does.
 */
import { ErrorCode } from '../errors.ts';

/** The reply with its code once: `code` is prefixed only when `response` lacks it. */
export function replyText(code: number | undefined, response: string | undefined): string {
  const text = (response ?? '').replace(/\s+/g, ' ').trim();
  if (code === undefined) return text;
  const prefix = String(code);
  if (text === prefix || text.startsWith(`${prefix} `) || text.startsWith(`${prefix}-`))
    return text;
  // "authentication failed: 535 …": the code is in the text already.
  if (new RegExp(`(^|\\D)${prefix}[ -]`).test(text)) return text;
  return text ? `${prefix} ${text}` : prefix;
}

/** What kind of delivery problem an answer is; undefined when it is none (2xx). */
export type ReplyClass =
  | typeof ErrorCode.AUTH
  | typeof ErrorCode.TLS
  | typeof ErrorCode.CONNECTION
  | typeof ErrorCode.SIZE
  | typeof ErrorCode.ENVELOPE
  | 'ETEMPORARY';

const AUTH_CODES = new Set([530, 534, 535, 538]);

/**
 * The class of an answer: EAUTH (530/534/535/538 or a refused login), ETLS (handshake,
 * certificate, STARTTLS), ECONNECTION (no server answered: refused, reset, timed out),
 * ESIZE (552), EENVELOPE (any other 5xx: the recipient or message is refused), ETEMPORARY
 * (a 4xx the server gave: greylisting, a full mailbox); undefined for a 2xx.
 */
export function replyClass(
  code: number | undefined,
  response: string | undefined,
): ReplyClass | undefined {
  const text = response ?? '';
  if (code !== undefined && code >= 200 && code < 300) return undefined;
  if ((code !== undefined && AUTH_CODES.has(code)) || /\bauthenticat|\bAUTH\b/i.test(text))
    return ErrorCode.AUTH;
  if (/\bTLS\b|\bSSL\b|certificate|handshake|STARTTLS/i.test(text)) return ErrorCode.TLS;
  if (code === 552) return ErrorCode.SIZE;
  if (code !== undefined && code >= 500) return ErrorCode.ENVELOPE;
  if (code !== undefined && code >= 400) return 'ETEMPORARY';
  return ErrorCode.CONNECTION;
}

/** True for the classes an operator must fix (waiting does not cure them). */
export function needsOperator(kind: ReplyClass | undefined): boolean {
  return kind === ErrorCode.AUTH || kind === ErrorCode.TLS;
}

/** The error code a reactor is told for an answer (a 4xx is ECONNECTION: "try later"). */
export function errorCodeOf(code: number | undefined, response: string | undefined): ErrorCode {
  const kind = replyClass(code, response);
  return kind === undefined || kind === 'ETEMPORARY' ? ErrorCode.CONNECTION : kind;
}
