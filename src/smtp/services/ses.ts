/**
 * Amazon SES v2 `SendEmail` with `Content.Raw`: the queue's bytes base64-encoded as they
 * are (SES adds its own DKIM signature and Message-ID header, never rewrites the list's),
 * up to 50 recipients a call (SES's limit for a message's destinations), or one a call
 * for VERP and personal copies: the envelope sender becomes the call's
 * `FeedbackForwardingEmailAddress`, so bounces mailed back still reach the list's VERP
 * address. No configuration set unless one is named (that is where SES's open and click
 * tracking lives, so it is off by default).
 *
 * Signed with `aws4` (SigV4) over a plain `fetch`, not `@aws-sdk/client-sesv2`: measured
 * here (Node 20, 2 loaded cores), loading and constructing the SDK client took 1.0-1.3 s
 * and 18-21 MB of RSS (18 MB of packages on disk, and a warning that its releases after
 * January 2027 need Node 22), against ~0.1 s and no measurable memory beyond Node's
 * baseline for aws4 (40 KB, no dependencies). `malist sendmail` and cron runs start a
 * process per use, so start-up is the cost that counts.
 */
import aws4 from 'aws4';
import type { Transport } from '../../queue/transport.ts';
import {
  type CallAnswer,
  createApiTransport,
  retryAfterMs,
  type ServiceTuning,
  tuned,
} from './api-transport.ts';
import { sesCredentials } from './credentials.ts';
import { type Answered, post, reasonOf } from './http.ts';

export interface SesOptions extends ServiceTuning {
  /** The AWS region of the SES account, e.g. eu-west-1. */
  region: string;
  /** Where to send instead of https://email.REGION.amazonaws.com (tests, a VPC endpoint). */
  endpoint?: string;
  /** A configuration set (event publishing, tracking); none by default. */
  configuration_set?: string;
  /** Credentials; @default AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN */
  access_key_id?: string;
  secret_access_key?: string;
  session_token?: string;
}

/** SES's error types (the `x-amzn-ErrorType` header or `__type`) that are not the message's fault. */
const ACCOUNT_ERRORS = new Set([
  'AccountSuspendedException',
  'SendingPausedException',
  'MailFromDomainNotVerifiedException',
  'NotFoundException',
  'LimitExceededException',
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'ExpiredTokenException',
  'IncompleteSignature',
  'MissingAuthenticationToken',
]);
const THROTTLED = new Set(['TooManyRequestsException', 'Throttling', 'ThrottlingException']);

/** The error type of an SES answer: `MessageRejected`, `TooManyRequestsException` … */
function errorType(a: Answered): string {
  const header = a.headers.get('x-amzn-errortype');
  let type = header ?? '';
  if (!type) {
    try {
      type = String((JSON.parse(a.text) as { __type?: string }).__type ?? '');
    } catch {
      type = '';
    }
  }
  // "MessageRejected:http://internal.amazon.com/coral/…" or "com.amazon…#MessageRejected"
  return type.split(':')[0]!.split('#').pop()!;
}

/** An SES answer as a call's answer (pure: tested without a server). */
export function sesAnswer(a: Answered, to: readonly string[]): CallAnswer {
  if (a.status >= 200 && a.status < 300) {
    let id: string | undefined;
    try {
      id = (JSON.parse(a.text) as { MessageId?: string }).MessageId;
    } catch {
      id = undefined;
    }
    return { kind: 'accepted', status: a.status, ...(id ? { id } : {}) };
  }
  const type = errorType(a);
  const reason = `${type || `HTTP ${a.status}`}: ${reasonOf(a.text)}`;
  if (a.status === 429 || THROTTLED.has(type) || a.status >= 500) {
    const after = retryAfterMs(a.headers.get('retry-after'));
    return {
      kind: 'retry',
      status: a.status,
      reason,
      ...(after !== undefined ? { retryAfterMs: after } : {}),
    };
  }
  if (ACCOUNT_ERRORS.has(type) || a.status === 401 || a.status === 403 || a.status === 404)
    return { kind: 'deferred', status: a.status, reason };
  const lower = reason.toLowerCase();
  const split = to.some((r) => lower.includes(r.toLowerCase()));
  return { kind: 'rejected', status: a.status, reason, split };
}

/** The SES transport. Throws at once when there are no credentials. */
export function createSesTransport(options: SesOptions, env = process.env): Transport {
  const credentials = sesCredentials(options, env);
  const base = (options.endpoint ?? `https://email.${options.region}.amazonaws.com`).replace(
    /\/$/,
    '',
  );
  const url = new URL(`${base}/v2/email/outbound-emails`);
  const { timeoutMs: timeout, ...tuning } = tuned(options, { max: 50, default: 50 });
  return createApiTransport({
    name: 'ses',
    ...tuning,
    senderPerCall: true,
    async call({ from, to, raw }) {
      const body = JSON.stringify({
        ...(from ? { FeedbackForwardingEmailAddress: from } : {}),
        Destination: { ToAddresses: to },
        Content: { Raw: { Data: raw.toString('base64') } },
        ...(options.configuration_set ? { ConfigurationSetName: options.configuration_set } : {}),
      });
      const signed = aws4.sign(
        {
          host: url.hostname,
          ...(url.port ? { port: Number(url.port) } : {}),
          path: url.pathname,
          method: 'POST',
          service: 'ses',
          region: options.region,
          headers: { 'Content-Type': 'application/json' },
          body,
        },
        credentials,
      );
      // fetch writes Host and Content-Length itself, with the values that were signed.
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(signed.headers ?? {}))
        if (!/^(host|content-length)$/i.test(k)) headers[k] = String(v);
      const answer = await post(url.href, { headers, body }, timeout);
      return 'kind' in answer ? answer : sesAnswer(answer, to);
    },
  });
}
