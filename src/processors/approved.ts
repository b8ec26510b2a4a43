/**
 * `approved` — honours a moderator's pre-approval in every form Mailman takes: an
 * `Approved:`, `Approve:`, `X-Approved:` or `X-Approve:` header, or the same as the first
 * non-blank line of the first text/plain part. A post with the list's moderator password
 * skips the rules that would hold it. The password never reaches the members, right or
 * wrong: the fields are always removed, and so is the body line — from the text part, and
 * the same words from the HTML alternative — rewritten in the part's own transfer encoding.
 * The comparison takes the same time whatever the guess.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { ListSettings } from '../list/settings.ts';
import { lazySchema } from '../mail/deferred-option.ts';
import { type MimePart, parseMime, splice } from '../mail/mime-tree.ts';
import {
  decodeCharset,
  decodedBody,
  encodeBody,
  firstTextPart,
  leafParts,
} from '../mail/part-text.ts';
import type { ListMail, Processor } from '../types.ts';

export type ApprovedOptions = Record<string, never>;

const FIELDS = ['Approved', 'Approve', 'X-Approved', 'X-Approve'];
const LINE = /^[ \t]*((?:x-)?approved?)[ \t]*:[ \t]*(.*?)[ \t]*\r?$/i;

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** True when `given` is the password; constant time, so the password cannot be guessed byte by byte. */
export function passwordMatches(given: string | undefined, password: string | undefined): boolean {
  if (!given || !password) return false;
  return timingSafeEqual(digest(given.trim()), digest(password));
}

interface Edit {
  part: MimePart;
  bytes: Buffer;
}

/** The password line of the first text part, and that part without it; undefined when there is none. */
function bodyLine(part: MimePart, body: Buffer, eol: string) {
  const decoded = decodedBody(part, body);
  if (!decoded) return undefined;
  let start = 0;
  while (start < decoded.length) {
    const nl = decoded.indexOf(0x0a, start);
    const end = nl === -1 ? decoded.length : nl + 1;
    const text = decoded.toString('latin1', start, end).replace(/\n$/, '');
    if (text.trim() !== '') {
      const match = LINE.exec(text);
      if (!match) return undefined;
      const value = decodeCharset(
        decoded.subarray(start, end),
        part.type.params['charset'],
      ).replace(/^[^:]*:\s*|\s+$/g, '');
      const rest = Buffer.concat([decoded.subarray(0, start), decoded.subarray(end)]);
      const bytes = encodeBody(part, rest, eol);
      return { field: match[1]!, value, edit: bytes ? { part, bytes } : undefined };
    }
    start = end;
  }
  return undefined;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The HTML parts with "Approved: PASSWORD" taken out (as Mailman's approved rule does). */
function htmlEdits(
  root: MimePart,
  body: Buffer,
  field: string,
  value: string,
  eol: string,
): Edit[] {
  const html = (s: string) =>
    s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const forms = [...new Set([value, html(value)])].map((v) =>
    escapeRegExp(Buffer.from(v, 'utf8').toString('latin1')),
  );
  const pattern = new RegExp(
    `${escapeRegExp(field)}\\s*:(\\s|&nbsp;|&#160;)*(${forms.join('|')})`,
    'gi',
  );
  const edits: Edit[] = [];
  for (const part of leafParts(root).filter((p) => p.type.mime === 'text/html')) {
    const decoded = decodedBody(part, body);
    if (!decoded) continue;
    const text = decoded.toString('latin1');
    if (!pattern.test(text)) continue;
    pattern.lastIndex = 0;
    const bytes = encodeBody(part, Buffer.from(text.replace(pattern, ''), 'latin1'), eol);
    if (bytes) edits.push({ part, bytes });
  }
  return edits;
}

/**
 * Takes an `Approved: PASSWORD` first line out of `mail`'s first text part (and the same
 * words out of its HTML parts); returns the password given, or undefined. Pure on `mail`.
 */
export function stripBodyPassword(mail: ListMail): string | undefined {
  const root = parseMime(mail.header, mail.body);
  const part = firstTextPart(root);
  if (!part) return undefined;
  const eol = mail.header.eol;
  const found = bodyLine(part, mail.body, eol);
  if (!found) return undefined;
  const edits = [
    ...(found.edit ? [found.edit] : []),
    ...(found.value ? htmlEdits(root, mail.body, found.field, found.value, eol) : []),
  ];
  for (const { part: p, bytes } of edits.sort((a, b) => b.part.bodyStart - a.part.bodyStart))
    mail.body = splice(mail.body, p.bodyStart, p.end, bytes);
  return found.value;
}

/** The options of `type: approved` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = lazySchema(() => z.strictObject({}));

export default function createApproved(
  list: ListSettings,
  _options: ApprovedOptions = {},
): Processor {
  return {
    name: 'approved',
    async process(mail) {
      const fromHeader = FIELDS.map((f) => mail.header.get(f)).find((v) => v !== undefined);
      for (const f of FIELDS) mail.header.remove(f);
      const fromBody = stripBodyPassword(mail);
      if (passwordMatches(fromHeader ?? fromBody, list.moderator_password))
        mail.ml_approved ??= fromHeader !== undefined ? 'approved-header' : 'approved-body';
      return mail;
    },
  };
}
