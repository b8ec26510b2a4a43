/** Making, copying and serialising a ListMail. */
import { createHash } from 'node:crypto';
import { ErrorCode, StageError } from '../errors.ts';
import type { ListMail, Origin } from '../types.ts';
import { HeaderBlock } from './header-block.ts';

/** The stable key of a mail's bytes: the journal's and the spool's key. */
export function mailKey(raw: Buffer): string {
  return createHash('sha256').update(raw).digest('hex');
}

/** Parses the header (never throws: any bytes make a mail) and keeps `raw` as fetched. */
export function createListMail(raw: Buffer, origin: Origin): ListMail {
  const { header, bodyStart } = HeaderBlock.parse(raw);
  return { raw, header, body: raw.subarray(bodyStart), origin, key: mailKey(raw) };
}

/** A copy whose header and ml_* fields can be edited without touching the original. */
export function cloneListMail(mail: ListMail): ListMail {
  return {
    ...mail,
    header: mail.header.clone(),
    ml_send_to: mail.ml_send_to ? [...mail.ml_send_to] : undefined,
    ml_notes: mail.ml_notes ? [...mail.ml_notes] : undefined,
  };
}

/**
 * The mail as bytes. `wire` (the default) is what is sent or stored: without an mbox
 * `From ` line or byte-order mark. `wire: false` gives back exactly `raw` when nothing
 * was edited.
 */
export function mailBytes(mail: ListMail, opts: { wire?: boolean } = {}): Buffer {
  return Buffer.concat([headerBytes(mail, opts.wire ?? true), mail.body]);
}

function headerBytes(mail: ListMail, wire = true): Buffer {
  return mail.header.toBuffer({ wire, hasBody: mail.body.length > 0 });
}

/**
 * `mailBytes`, and the mail's body then points into the bytes returned (the same bytes):
 * a large post is held once, not as its body and again as its wire copy. For a
 * distributor that sends or stores the whole mail.
 */
export function sharedMailBytes(mail: ListMail): Buffer {
  const header = headerBytes(mail);
  const bytes = Buffer.concat([header, mail.body]);
  mail.body = bytes.subarray(header.length);
  return bytes;
}

/** The size of `mailBytes(mail)`, without making them. */
export function mailSize(mail: ListMail): number {
  return headerBytes(mail).length + mail.body.length;
}

/** The Message-ID without angle brackets, or undefined. */
export function messageId(mail: ListMail): string | undefined {
  const value = mail.header.get('Message-ID');
  if (!value) return undefined;
  const match = /<([^>]*)>/.exec(value);
  return (match ? match[1] : value.split(/\s/)[0])?.slice(0, 500);
}

/**
 * The envelope a distributor sends with, or an EENVELOPE error naming the unit: a mail
 * without `ml_sender` or recipients is never sent (nor spooled) by guesswork.
 */
export function envelopeOf(mail: ListMail, unit: string): { from: string; to: string[] } {
  const to = mail.ml_send_to ?? [];
  if (mail.ml_sender === undefined || to.length === 0) {
    throw new StageError('the mail has no envelope (ml_sender / ml_send_to); nothing was sent', {
      code: ErrorCode.ENVELOPE,
      unit,
      messageId: messageId(mail),
    });
  }
  return { from: mail.ml_sender, to };
}
