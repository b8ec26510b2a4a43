/**
 * Composing notices (rejections, held notices, moderator requests, expiry). Notices are new
 * mail, so they are built with nodemailer's MIME composer; the post they concern is
 * attached as message/rfc822 with its bytes unchanged. Every notice says it is automatic
 * (RFC 3834) so that no well-behaved robot answers it.
 */
import MailComposer from 'nodemailer/lib/mail-composer';
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
}

/** Builds the notice's bytes. */
export async function composeNotice(spec: NoticeSpec): Promise<Notice> {
  const id = spec.about ? messageId(spec.about) : undefined;
  const attached = spec.about && spec.attach ? mailBytes(spec.about) : undefined;
  const composer = new MailComposer({
    from: spec.from,
    to: spec.to,
    replyTo: spec.replyTo,
    subject: spec.subject,
    text: spec.text,
    inReplyTo: id ? `<${id}>` : undefined,
    references: id ? `<${id}>` : undefined,
    headers: {
      ...spec.headers,
      'Auto-Submitted': spec.autoSubmitted,
      Precedence: 'bulk',
      'X-Auto-Response-Suppress': 'All',
    },
    attachments: attached
      ? [
          {
            content: attached,
            contentType: 'message/rfc822',
            contentDisposition: 'attachment',
            filename: false,
            // message/rfc822 may not be base64 (RFC 2046 §5.2.1): 8-bit posts go as 8bit.
            contentTransferEncoding: attached.some((b) => b > 0x7f) ? '8bit' : '7bit',
          },
        ]
      : undefined,
    newline: 'win',
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  const raw = await composer.compile().build();
  return { from: spec.envelopeFrom, to: spec.to, raw };
}
