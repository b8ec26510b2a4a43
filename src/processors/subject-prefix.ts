/**
 * `subject-prefix` — puts the list's prefix on the subject, never stacked: "Re: [Red] Re:
 * [Red] x" becomes "[Red] Re: x" (or "Re: [Red] x" with `position: after-re`). Encoded-word
 * subjects are decoded first and re-encoded when needed; a subject of raw 8-bit bytes that
 * are not UTF-8 keeps its bytes and only gains the prefix.
 */
import { decodeWords, encodeWordsIfNeeded } from '../mail/encoded-words.ts';
import type { ListMail, Processor } from '../types.ts';
import type { ListSettings } from './list.ts';

export interface SubjectPrefixOptions {
  /** Where the prefix goes on a reply. @default 'before-re' */
  position?: 'before-re' | 'after-re';
}

const REPLY = /^\s*((re|aw|sv|fw|fwd|antw|vs|ref|r)\s*(\[\d+\])?\s*:\s*)+/i;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The pure rule: `subject` with `prefix` applied once. */
export function applyPrefix(
  subject: string,
  prefix: string,
  position: SubjectPrefixOptions['position'] = 'before-re',
): string {
  const tag = prefix.trim();
  if (!tag) return subject;
  // %d numbering makes each prefix differ: match any number in its place.
  const pattern = new RegExp(`\\s*${escapeRegExp(tag).replace('%d', '\\d+')}\\s*`, 'gi');
  let rest = subject.replace(pattern, ' ').replace(/\s+/g, ' ').trim();
  const isReply = REPLY.test(rest);
  if (isReply) rest = rest.replace(REPLY, '').trim();
  const spaced = prefix.endsWith(' ') ? prefix : `${prefix} `;
  if (!isReply) return `${spaced}${rest}`.trimEnd();
  return position === 'after-re' ? `Re: ${spaced}${rest}` : `${spaced}Re: ${rest}`;
}

function isUtf8(buf: Buffer): boolean {
  return Buffer.from(buf.toString('utf8'), 'utf8').equals(buf);
}

export function prefixSubject(
  mail: ListMail,
  prefix: string,
  position?: SubjectPrefixOptions['position'],
): void {
  const raw = mail.header.getRaw('Subject');
  if (raw && !isUtf8(raw)) {
    // Undecodable bytes: keep them as they are, only once prefixed.
    const tag = prefix.trim();
    if (raw.toString('latin1').includes(tag)) return;
    mail.header.setRaw(
      'Subject',
      Buffer.concat([
        Buffer.from(`${prefix.replace(/\s+$/, '')} `),
        Buffer.from(raw.toString('latin1').trimStart(), 'latin1'),
      ]),
    );
    return;
  }
  const subject = decodeWords(mail.header.get('Subject') ?? '');
  mail.header.set('Subject', encodeWordsIfNeeded(applyPrefix(subject, prefix, position)));
}

export default function createSubjectPrefix(
  list: ListSettings,
  options: SubjectPrefixOptions = {},
): Processor {
  return {
    name: 'subject-prefix',
    async process(mail) {
      if (list.subject_prefix) prefixSubject(mail, list.subject_prefix, options.position);
      return mail;
    },
  };
}
