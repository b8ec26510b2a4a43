/**
 * `content-filter` — MIME content rules: parts of configured types or file extensions are
 * replaced by a one-line note (`strip_*`), or make the whole post held/rejected
 * (`reject_*`); `collapse_alternative` keeps only the plain-text alternative. Only the
 * parts concerned are rewritten; every other byte stays as it was.
 */
import libmime from 'libmime';
import { z } from 'zod';
import type { ListSettings } from '../list/settings.ts';
import { type MimePart, parseMime, splice } from '../mail/mime-tree.ts';
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

function filename(part: MimePart): string {
  for (const field of ['Content-Disposition', 'Content-Type']) {
    const value = part.header.get(field);
    if (!value) continue;
    const params = libmime.parseHeaderValue(value).params ?? {};
    const name = params['filename'] ?? params['name'];
    if (name) return libmime.decodeWords(String(name));
  }
  return '';
}

function matcher(types: string[] = [], extensions: string[] = []) {
  const t = types.map((x) => x.toLowerCase());
  const e = extensions.map((x) => x.toLowerCase().replace(/^\./, ''));
  return (part: MimePart): boolean => {
    const mime = part.type.mime;
    if (t.some((x) => x === mime || (x.endsWith('/*') && mime.startsWith(x.slice(0, -1)))))
      return true;
    const ext = /\.([^.]+)$/.exec(filename(part).toLowerCase())?.[1];
    return ext !== undefined && e.includes(ext);
  };
}

/** Leaf parts, depth first. */
function leaves(part: MimePart): MimePart[] {
  return part.children.length === 0 ? [part] : part.children.flatMap(leaves);
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
  const refused = leaves(root).find(matcher(o.reject_types, o.reject_extensions));
  if (refused)
    throw ruleSignal(
      o.action ?? 'reject',
      `${list.address} does not accept ${refused.type.mime} content${filename(refused) ? ` (${filename(refused)})` : ''}`,
    );
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
  const targets = root.children.length === 0 ? [] : leaves(root).filter(strip);
  for (const part of targets.sort((a, b) => b.start - a.start))
    mail.body = splice(mail.body, part.start, part.end, note(part, eol));
}

/** The options of `type: content-filter` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = z.strictObject({
  strip_types: z.array(z.string()).optional(),
  strip_extensions: z.array(z.string()).optional(),
  reject_types: z.array(z.string()).optional(),
  reject_extensions: z.array(z.string()).optional(),
  action: z.enum(['hold', 'reject', 'discard']).optional(),
  collapse_alternative: z.boolean().optional(),
});

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
