/**
 * `subject-prefix` — puts the list's prefix on the subject, never stacked: "Re: [Red] Re:
 * [Red] x" becomes "[Red] Re: x" (or "Re: [Red] x" with `position: after-re`); "Fwd: x"
 * stays a forward, and an empty subject becomes "[Red] (no subject)". A `%d`
 * (or `%05d`) in the prefix is the post number, from a durable counter. Encoded-word
 * subjects are decoded first and re-encoded when needed; a subject of raw 8-bit bytes that
 * are not UTF-8 keeps its bytes and only gains the prefix.
 */

import { z } from 'zod';
import type { ListSettings } from '../list/settings.ts';
import { lazySchema } from '../mail/deferred-option.ts';
import { decodeWords, encodeWordsIfNeeded } from '../mail/encoded-words.ts';
import type { PostCounters } from '../state/counters.ts';
import type { ListMail, Processor } from '../types.ts';
import { PostCounter } from './post-number.ts';

export interface SubjectPrefixOptions {
  /** Where the prefix goes on a reply. @default 'before-re' */
  position?: 'before-re' | 'after-re';
  /**
   * The post counters, as the composition root keeps them (`storage:`: PostgreSQL rows
   * every host shares). @default a file under the list's state_dir
   */
  counters?: PostCounters;
}

/**
 * Reply markers (Re, German Aw, Scandinavian Sv, Finnish Vs, and numbered forms such as
 * `Re[2]:` and `Re^2:`), collapsed into one "Re: ". A forward stays what it is: "Fwd:" is
 * no reply, and rewriting it to "Re:" tells the members something false.
 */
const REPLY = /^\s*((re|aw|sv|vs)\s*(\[\d+\]|\(\d+\)|\^\d+|\d+)?\s*:\s*)+/i;
const NUMBER = /%(0\d+)?d/;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** True when the prefix numbers posts. */
export function isNumbered(prefix: string | undefined): boolean {
  return prefix !== undefined && NUMBER.test(prefix);
}

/** The prefix with its `%d` / `%0Nd` replaced by `n`. Pure. */
export function renderPrefix(prefix: string, n: number | undefined): string {
  return prefix.replace(NUMBER, (_, pad: string | undefined) =>
    String(n ?? 0).padStart(pad ? Number.parseInt(pad, 10) : 0, '0'),
  );
}

/** A pattern matching any earlier copy of the prefix (any number in place of `%d`). */
function prefixPattern(prefix: string): RegExp {
  const tag = escapeRegExp(prefix.trim()).replace(/%(0\d+)?d/, '\\d+');
  return new RegExp(`\\s*${tag}\\s*`, 'gi');
}

/** The pure rule: `subject` with `prefix` applied once (`n` fills a `%d`). */
export function applyPrefix(
  subject: string,
  prefix: string,
  position: SubjectPrefixOptions['position'] = 'before-re',
  n?: number,
): string {
  if (!prefix.trim()) return subject;
  let rest = subject.replace(prefixPattern(prefix), ' ').replace(/\s+/g, ' ').trim();
  const isReply = REPLY.test(rest);
  if (isReply) rest = rest.replace(REPLY, '').trim();
  // An empty subject says so (Mailman's "(no subject)"), not just the list's tag.
  if (rest === '') rest = '(no subject)';
  const shown = renderPrefix(prefix, n);
  const spaced = shown.endsWith(' ') ? shown : `${shown} `;
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
  n?: number,
): void {
  const raw = mail.header.getRaw('Subject');
  if (raw && !isUtf8(raw)) {
    // Undecodable bytes: keep them as they are, only once prefixed.
    const pattern = prefixPattern(prefix);
    if (pattern.test(raw.toString('latin1'))) return;
    mail.header.setRaw(
      'Subject',
      Buffer.concat([
        // setRaw writes "Subject: " itself: no leading blank here.
        Buffer.from(`${renderPrefix(prefix, n).replace(/\s+$/, '')} `),
        Buffer.from(raw.toString('latin1').trimStart(), 'latin1'),
      ]),
    );
    return;
  }
  const subject = decodeWords(mail.header.get('Subject') ?? '');
  mail.header.set('Subject', encodeWordsIfNeeded(applyPrefix(subject, prefix, position, n)));
}

/** The options of `type: subject-prefix` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = lazySchema(() =>
  z.strictObject({ position: z.enum(['before-re', 'after-re']).optional() }),
);

export default function createSubjectPrefix(
  list: ListSettings,
  options: SubjectPrefixOptions = {},
): Processor {
  const counter = isNumbered(list.subject_prefix)
    ? new PostCounter(options.counters ?? list.state_dir, list.name)
    : undefined;
  return {
    name: 'subject-prefix',
    async process(mail) {
      if (!list.subject_prefix) return mail;
      const n = counter ? await counter.numberFor(mail.key) : undefined;
      prefixSubject(mail, list.subject_prefix, options.position, n);
      return mail;
    },
  };
}
