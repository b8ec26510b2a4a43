/**
 * Per-recipient truth from nodemailer's answer to one SMTP transaction: 2xx delivered,
 * 4xx and network errors deferred, 5xx failed. A 5xx refuses a recipient only when the
 * server said it about the message (MAIL FROM, RCPT TO, DATA); a 535 at AUTH or a 554
 * greeting is about the connection, so the recipients are deferred (and expire in time),
 * never failed for something that is not their fault.
 */
import type { RecipientResult } from '../types.ts';

/** The fields of nodemailer's result and error objects this module reads. */
export interface SmtpAnswer {
  accepted?: Array<string | { address?: string }>;
  rejected?: Array<string | { address?: string }>;
  rejectedErrors?: SmtpErrorLike[];
  response?: string;
}

export interface SmtpErrorLike {
  message?: string;
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
  recipient?: string;
  rejectedErrors?: SmtpErrorLike[];
}

const MESSAGE_COMMANDS = new Set(['MAIL FROM', 'RCPT TO', 'DATA']);

function addressOf(value: string | { address?: string }): string {
  return (typeof value === 'string' ? value : (value.address ?? '')).toLowerCase();
}

function codeOf(response: string | undefined): number | undefined {
  const match = /^(\d{3})/.exec(response ?? '');
  return match ? Number(match[1]) : undefined;
}

function fromRejection(
  error: SmtpErrorLike,
  recipient: string,
  distributor: string,
): RecipientResult {
  const code = error.responseCode ?? codeOf(error.response);
  return {
    recipient,
    status: code !== undefined && code >= 500 ? 'failed' : 'deferred',
    distributor,
    ...(code !== undefined ? { code } : {}),
    response: error.response ?? error.message ?? 'refused',
  };
}

/** Outcomes of a transaction nodemailer reported as sent. */
export function outcomeOfSuccess(
  recipients: readonly string[],
  info: SmtpAnswer,
  distributor: string,
): RecipientResult[] {
  const accepted = new Set((info.accepted ?? []).map(addressOf));
  const rejections = new Map<string, SmtpErrorLike>();
  for (const error of info.rejectedErrors ?? []) {
    if (error.recipient) rejections.set(error.recipient.toLowerCase(), error);
  }
  const code = codeOf(info.response) ?? 250;
  return recipients.map((recipient) => {
    const key = recipient.toLowerCase();
    const rejection = rejections.get(key);
    // LMTP can refuse a recipient after RCPT accepted it: the rejection wins.
    if (rejection) return fromRejection(rejection, recipient, distributor);
    if (accepted.has(key)) {
      return { recipient, status: 'delivered', distributor, code, response: info.response ?? '' };
    }
    return {
      recipient,
      status: 'deferred',
      distributor,
      response: 'the server did not answer for this recipient',
    };
  });
}

/** Outcomes of a transaction that ended in an error. */
export function outcomeOfError(
  recipients: readonly string[],
  error: SmtpErrorLike,
  distributor: string,
): RecipientResult[] {
  const perRecipient = new Map<string, SmtpErrorLike>();
  for (const rejection of error.rejectedErrors ?? []) {
    if (rejection.recipient) perRecipient.set(rejection.recipient.toLowerCase(), rejection);
  }
  const code = error.responseCode ?? codeOf(error.response);
  const aboutMessage = MESSAGE_COMMANDS.has(error.command ?? '');
  // nodemailer refuses a message over the server's SIZE limit before sending it, with no code.
  const tooBig = error.code === 'EMESSAGE' && code === undefined && error.command === 'MAIL FROM';
  const failed = tooBig || (code !== undefined && code >= 500 && aboutMessage);
  return recipients.map((recipient) => {
    const rejection = perRecipient.get(recipient.toLowerCase());
    if (rejection) return fromRejection(rejection, recipient, distributor);
    const resultCode = tooBig ? 552 : code;
    return {
      recipient,
      status: failed ? 'failed' : 'deferred',
      distributor,
      ...(resultCode !== undefined ? { code: resultCode } : {}),
      response: error.response ?? error.message ?? String(error),
    };
  });
}
