/**
 * A message handed in by an application or a cron job (`malist sendmail`, `createMailer`):
 * its envelope, sendmail style. With `fromHeaders` (sendmail -t) the recipients of To, Cc
 * and Bcc are added to the ones given; Bcc is always removed from the header that is sent,
 * its recipients are still delivered. A missing Date or Message-ID is added, as Postfix's
 * local submission does (the Message-ID also lets a server count duplicates).
 */
import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { normalizeAddress, parseAddressList } from '../mail/address.ts';
import { HeaderBlock } from '../mail/header-block.ts';

export interface SubmissionOptions {
  /** Envelope recipients given explicitly (sendmail's arguments). */
  recipients?: string[];
  /** Also take recipients from To, Cc and Bcc (sendmail -t). @default false */
  fromHeaders?: boolean;
  /** Envelope sender (sendmail -f); else the From address, else user@host. */
  sender?: string;
  /** Full name for a From field added when the message has none (sendmail -F). */
  fullName?: string;
}

export interface Submission {
  raw: Buffer;
  sender: string;
  recipients: string[];
  messageId: string;
}

function defaultSender(): string {
  let user = 'nobody';
  try {
    user = userInfo().username || user;
  } catch {}
  return `${user}@${hostname() || 'localhost'}`;
}

/** Parses and edits the message; throws an Error when there is nobody to send it to. */
export function prepareSubmission(input: Buffer, options: SubmissionOptions = {}): Submission {
  const { header, bodyStart } = HeaderBlock.parse(input);
  const body = input.subarray(bodyStart);
  const seen = new Set<string>();
  const recipients: string[] = [];
  const add = (address: string) => {
    const normal = normalizeAddress(address);
    if (!normal || seen.has(normal)) return;
    seen.add(normal);
    recipients.push(address.trim().replace(/^<|>$/g, ''));
  };
  for (const r of options.recipients ?? []) for (const m of parseAddressList(r)) add(m.address);
  if (options.fromHeaders) {
    for (const name of ['To', 'Cc', 'Bcc']) {
      for (const value of header.getAll(name))
        for (const m of parseAddressList(value)) add(m.address);
    }
  }
  if (recipients.length === 0) throw new Error('no recipients: give them as arguments, or use -t');
  header.remove('Bcc');
  const from = parseAddressList(header.get('From'))[0]?.address;
  const sender = options.sender ?? from ?? defaultSender();
  if (!header.has('From')) {
    const name = options.fullName?.replace(/["\\\r\n]/g, '');
    header.add('From', name ? `"${name}" <${sender}>` : sender);
  }
  if (!header.has('Date')) header.add('Date', new Date().toUTCString().replace('GMT', '+0000'));
  let messageId = /<([^>]+)>/.exec(header.get('Message-ID') ?? '')?.[1];
  if (!messageId) {
    messageId = `${Date.now().toString(36)}.${randomBytes(8).toString('hex')}@${hostname() || 'malist'}`;
    header.add('Message-ID', `<${messageId}>`);
  }
  const raw = Buffer.concat([header.toBuffer({ wire: true, hasBody: body.length > 0 }), body]);
  return { raw, sender, recipients, messageId };
}
