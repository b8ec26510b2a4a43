/**
 * `content-filter` — MIME content rules: parts of configured types or file extensions are
 * replaced by a one-line note (`strip_*`; a single-part post that is such a file becomes
 * the note), or make the whole post held/rejected (`reject_*`, looking into attached
 * messages too; a part nested deeper than MAX_DEPTH levels counts as refused, since it
 * cannot be checked); `collapse_alternative` keeps only the plain-text alternative. File
 * names are compared as a client opens them: RFC 2231/2047 decoded, every name a part
 * gives, trailing dots and blanks dropped, any case. Only the parts concerned are
 * rewritten; every other byte stays as it was.
 */

import { z } from 'zod';
import type { ListSettings } from '../list/settings.ts';
import { lazySchema } from '../mail/deferred-option.ts';
import { HeaderBlock } from '../mail/header-block.ts';
import { libmime } from '../mail/lazy.ts';
import {
  MAX_DEPTH,
  type MimePart,
  parseMime,
  plainContentType,
  splice,
} from '../mail/mime-tree.ts';
import { decodedBody, leafParts } from '../mail/part-text.ts';
import { optionalBoolean, optionalStrings } from '../mail/shared-options.ts';
import type { ListMail, Processor } from '../types.ts';
import { type RuleAction, ruleSignal } from './rules.ts';

export interface ContentFilterOptions {
  /** MIME types whose parts are removed; `image/*` matches a whole family. @example ["application/x-msdownload"] */
  strip_types?: string[];
  /** File name extensions whose parts are removed. @example ["exe", "bat", "scr"] */
  strip_extensions?: string[];
  /** Types that make the post refused (see `action`). */
  reject_types?: string[];
  /** Extensions that make the post refused (see `action`). */
  reject_extensions?: string[];
  /** What happens to a post with a `reject_*` part. @default 'reject' */
  action?: RuleAction;
  /** Replace each multipart/alternative by its text/plain part. @default false */
  collapse_alternative?: boolean;
}

/**
 * A file name as Windows and mail clients act on it: RFC 2047 words decoded, the NTFS
 * stream suffix (`::$DATA`) and trailing dots and blanks dropped (`evil.exe. ` opens as
 * evil.exe), lower case.
 */
export function normaliseFileName(name: string): string {
  // libmime (~70 ms CPU to load) only for a name with encoded words in it.
  return (name.includes('=?') ? libmime().decodeWords(name) : name)
    .replace(/::\$data$/i, '')
    .replace(/[\s.\u0000]+$/u, '')
    .trim()
    .toLowerCase();
}

/** Every file name a part gives (Content-Disposition filename, Content-Type name; RFC 2231 and 2047), normalised. */
export function fileNames(part: MimePart): string[] {
  const names = new Set<string>();
  for (const field of ['Content-Disposition', 'Content-Type']) {
    const value = part.header.get(field);
    if (!value) continue;
    const params =
      plainContentType(value)?.params ?? libmime().parseHeaderValue(value).params ?? {};
    for (const key of ['filename', 'name']) {
      const name = params[key];
      if (name) names.add(normaliseFileName(String(name)));
    }
  }
  return [...names].filter((n) => n !== '');
}

function filename(part: MimePart): string {
  return fileNames(part)[0] ?? '';
}

function matcher(types: string[] = [], extensions: string[] = []) {
  const t = types.map((x) => x.toLowerCase());
  const e = extensions.map((x) => x.toLowerCase().replace(/^\./, ''));
  return (part: MimePart): boolean => {
    const mime = part.type.mime;
    if (t.some((x) => x === mime || (x.endsWith('/*') && mime.startsWith(x.slice(0, -1)))))
      return true;
    return fileNames(part).some((name) => {
      const ext = /\.([^.]+)$/.exec(name)?.[1];
      return ext !== undefined && e.includes(ext);
    });
  };
}

/** Attached messages followed inside one another; a deeper one counts as refused. */
const MAX_MESSAGES = 10;

/**
 * The first part a reject rule refuses, looking into attached messages (message/rfc822)
 * too; a part nested deeper than anyone checks counts as refused.
 */
function refusedPart(
  root: MimePart,
  body: Buffer,
  match: (part: MimePart) => boolean,
  messages = 0,
): { part: MimePart; why?: string } | undefined {
  for (const part of leafParts(root)) {
    if (part.truncated)
      return {
        part,
        why: `parts nested more than ${MAX_DEPTH} levels deep, which cannot be checked`,
      };
    if (match(part)) return { part };
    if (part.type.mime !== 'message/rfc822') continue;
    if (messages >= MAX_MESSAGES)
      return {
        part,
        why: `messages attached more than ${MAX_MESSAGES} deep, which cannot be checked`,
      };
    const bytes = decodedBody(part, body);
    if (!bytes) continue;
    const inner = HeaderBlock.parse(bytes);
    const innerBody = bytes.subarray(inner.bodyStart);
    const found = refusedPart(parseMime(inner.header, innerBody), innerBody, match, messages + 1);
    if (found) return found;
  }
  return undefined;
}

function note(part: MimePart, eol: string): Buffer {
  const name = filename(part).replace(/[^\x20-\x7e]/g, '?');
  return Buffer.from(
    `Content-Type: text/plain; charset=us-ascii${eol}${eol}` +
      `[An attachment (${part.type.mime}${name ? `, ${name}` : ''}) was removed by the list.]${eol}`,
  );
}

/** Applies the rules to `mail`; throws the rule's signal for a `reject_*` match. */
export function filterContent(list: ListSettings, mail: ListMail, o: ContentFilterOptions): void {
  const eol = mail.header.eol;
  let root = parseMime(mail.header, mail.body);
  const rejecting = (o.reject_types?.length ?? 0) + (o.reject_extensions?.length ?? 0) > 0;
  const refused = rejecting
    ? refusedPart(root, mail.body, matcher(o.reject_types, o.reject_extensions))
    : undefined;
  if (refused) {
    const name = filename(refused.part);
    throw ruleSignal(
      o.action ?? 'reject',
      `${list.address} does not accept ${refused.why ?? `${refused.part.type.mime} content${name ? ` (${name})` : ''}`}`,
    );
  }
  if (o.collapse_alternative) {
    const text = (p: MimePart) => p.children.find((c) => c.type.mime === 'text/plain');
    if (root.type.mime === 'multipart/alternative' && text(root)) {
      const keep = text(root)!;
      const fields = keep.header.fields.filter((f) => /^content-/i.test(f.name));
      mail.header.removeWhere((n) => /^content-/i.test(n));
      for (const f of fields)
        mail.header.add(
          f.name,
          f.raw
            .toString('latin1')
            .slice(f.raw.indexOf(0x3a) + 1)
            .trim(),
        );
      mail.body = mail.body.subarray(keep.bodyStart, keep.end);
      root = parseMime(mail.header, mail.body);
    }
    const nested = root.children.filter((c) => c.type.mime === 'multipart/alternative' && text(c));
    for (const alt of nested.reverse()) {
      const keep = text(alt)!;
      mail.body = splice(mail.body, alt.start, alt.end, mail.body.subarray(keep.start, keep.end));
    }
    root = parseMime(mail.header, mail.body);
  }
  const strip = matcher(o.strip_types, o.strip_extensions);
  if (root.children.length === 0) {
    if (strip(root)) stripWhole(mail, root, eol);
    return;
  }
  const targets = leafParts(root).filter(strip);
  for (const part of targets.sort((a, b) => b.start - a.start))
    mail.body = splice(mail.body, part.start, part.end, note(part, eol));
}

/** A single-part post that is itself the stripped attachment becomes the note. */
function stripWhole(mail: ListMail, root: MimePart, eol: string): void {
  const text = note(root, eol);
  const noteBody = text.subarray(text.indexOf(`${eol}${eol}`) + eol.length * 2);
  mail.header.removeWhere((n) => /^content-(transfer-encoding|disposition|description)$/i.test(n));
  mail.header.set('Content-Type', 'text/plain; charset=us-ascii');
  mail.body = noteBody;
}

/** The options of `type: content-filter` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = lazySchema(() =>
  z.strictObject({
    strip_types: optionalStrings,
    strip_extensions: optionalStrings,
    reject_types: optionalStrings,
    reject_extensions: optionalStrings,
    action: z.enum(['hold', 'reject', 'discard']).optional(),
    collapse_alternative: optionalBoolean,
  }),
);

export default function createContentFilter(
  list: ListSettings,
  options: ContentFilterOptions = {},
): Processor {
  return {
    name: 'content-filter',
    async process(mail) {
      filterContent(list, mail, options);
      return mail;
    },
  };
}
