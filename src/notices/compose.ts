/**
 * Composing notices (rejections, held notices, moderator requests, expiry). Notices are new
 * mail, so they are built with nodemailer's MIME composer; the post they concern is
 * attached as message/rfc822 with its bytes unchanged. Every notice says it is automatic
 * (RFC 3834) so that no well-behaved robot answers it.
 */
import { loadMailComposer } from '../mail/lazy.ts';
import { mailBytes, messageId } from '../mail/list-mail.ts';
import type { ListMail } from '../types.ts';

/** A composed notice: envelope sender, one recipient, and the bytes to send. */
export interface Notice {
  /** Envelope sender (the list's bounce address, so bounces of notices are not lost). */
  from: string;
  to: string;
  raw: Buffer;
  /** The list the notice speaks for: a later refusal of it is that list's to record. */
  list?: string;
  /** Its key, when the sender chose one (a bounce probe, so its refusal is recognised). */
  key?: string;
}

/** Where notices go out: wired by the config to the configured distributor. */
export type NoticeSender = (notice: Notice) => Promise<void>;

/** A notice the mail server refused (5xx): what a NoticeSender throws for it. */
export class NoticeRefused extends Error {
  constructor(
    readonly recipient: string,
    readonly code: number | undefined,
    readonly response: string,
    by: string,
  ) {
    super(`notice to ${recipient} refused by ${by}: ${response || code || ''}`);
    this.name = 'NoticeRefused';
  }
}

export interface NoticeSpec {
  /** Envelope sender. */
  envelopeFrom: string;
  /** The From header ("Red mail list <red-owner@…>"). */
  from: string;
  to: string;
  subject: string;
  text: string;
  replyTo?: string;
  /** RFC 3834: `auto-replied` answers a mail, `auto-generated` is unprompted. */
  autoSubmitted: 'auto-replied' | 'auto-generated';
  /** The mail this notice answers: threaded to it, and attached when `attach` is set. */
  about?: ListMail;
  /** Attach `about` as message/rfc822. @default false */
  attach?: boolean;
  /** Added header fields (List-Id of the list that speaks). */
  headers?: Record<string, string>;
  /** The notice's own Message-ID (`<…>`), when a later report must be matched to it. */
  messageId?: string;
}

/**
 * A message that cannot travel as message/rfc822 (NUL bytes, bare CRs or lines over 998
 * octets, which SMTP refuses) goes as a base64 `.eml` file: the moderator still gets every byte.
 */
function unfit(bytes: Buffer): boolean {
  if (bytes.includes(0)) return true;
  let lineStart = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 0x0d && bytes[i + 1] !== 0x0a) return true;
    if (b === 0x0a) lineStart = i + 1;
    else if (i - lineStart > 998) return true;
  }
  return false;
}

function attachment(bytes: Buffer) {
  if (unfit(bytes))
    return {
      content: bytes,
      contentType: 'application/octet-stream',
      contentDisposition: 'attachment' as const,
      filename: 'message.eml',
      contentTransferEncoding: 'base64' as const,
    };
  return {
    content: bytes,
    contentType: 'message/rfc822',
    contentDisposition: 'attachment' as const,
    filename: false as const,
    // message/rfc822 may not be base64 (RFC 2046 §5.2.1): 8-bit posts go as 8bit.
    contentTransferEncoding: bytes.some((b) => b > 0x7f) ? ('8bit' as const) : ('7bit' as const),
  };
}

/** Builds the notice's bytes. */
export async function composeNotice(spec: NoticeSpec): Promise<Notice> {
  const id = spec.about ? messageId(spec.about) : undefined;
  const attached = spec.about && spec.attach ? mailBytes(spec.about) : undefined;
  const MailComposer = loadMailComposer();
  const composer = new MailComposer({
    from: spec.from,
    to: spec.to,
    replyTo: spec.replyTo,
    subject: spec.subject,
    text: spec.text,
    inReplyTo: id ? `<${id}>` : undefined,
    references: id ? `<${id}>` : undefined,
    ...(spec.messageId ? { messageId: spec.messageId } : {}),
    headers: {
      ...spec.headers,
      'Auto-Submitted': spec.autoSubmitted,
      Precedence: 'bulk',
      'X-Auto-Response-Suppress': 'All',
    },
    attachments: attached ? [attachment(attached)] : undefined,
    newline: 'win',
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  const raw = await composer.compile().build();
  return { from: spec.envelopeFrom, to: spec.to, raw };
}
