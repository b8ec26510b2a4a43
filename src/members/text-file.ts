/**
 * `text-file` — a members file with one member a line: `[Name <]address[>] [option …]
 * [# comment]`, options being `digest`, `plain`, `nomail`, `nomail=bounce|user|admin`,
 * `notmetoo`, `moderate`. Comments, blank lines and the order of lines are kept; an edited
 * line keeps its comment. Changes go through the shared write path (file-store.ts): atomic,
 * under a file lock.
 */
import { createReadStream } from 'node:fs';
import { z } from 'zod';
import { isStorableAddress } from '../mail/address.ts';
import { lazySchema } from '../mail/deferred-option.ts';
import { nodeReadline } from '../mail/lazy.ts';
import { fileMemberStore, type MemberFileFormat } from './file-store.ts';
import {
  type Member,
  type MemberStore,
  type NomailReason,
  OPTION_NAMES,
  parseMemberText,
  tidyMember,
} from './store.ts';

export interface TextMemberStoreOptions {
  /** The members file (created on the first add). */
  file: string;
}

/**
 * A line without its comment, split into the member (`addr` or `Name <addr>`) and the
 * words after it; undefined for a blank or comment line.
 */
export function splitMemberLine(line: string): { head: string; words: string[] } | undefined {
  const text = line.replace(/#.*$/, '').trim();
  if (!text) return undefined;
  const close = text.lastIndexOf('>');
  const head = close >= 0 ? text.slice(0, close + 1) : (text.split(/\s+/)[0] ?? '');
  return { head, words: text.slice(head.length).trim().split(/\s+/).filter(Boolean) };
}

/** One line as a member, or undefined for comments, blank lines and junk (kept as they are). */
export function parseMemberLine(line: string): Member | undefined {
  const split = splitMemberLine(line);
  if (!split) return undefined;
  let member: Member;
  if (split.head.endsWith('>')) {
    const parsed = parseMemberText(split.head);
    if (typeof parsed === 'string') return undefined;
    member = parsed;
  } else {
    if (!isStorableAddress(split.head)) return undefined;
    member = { address: split.head };
  }
  for (const word of split.words) {
    const [name, value] = word.toLowerCase().split('=');
    if ((OPTION_NAMES as readonly string[]).includes(name!)) member[name as 'digest'] = true;
    if (name === 'nomail' && value) member.nomail_reason = value as NomailReason;
  }
  return tidyMember(member);
}

/** `Name <addr>` when the name reads back from a line as it is, else undefined. */
function namedHead(member: Member): string | undefined {
  if (!member.name) return undefined;
  const head = `${member.name} <${member.address}>`;
  const back = parseMemberLine(head);
  return back?.name === member.name && back.address === member.address ? head : undefined;
}

/** The line for a member, keeping `comment` (with its `#`). */
export function formatMemberLine(member: Member, comment = ''): string {
  const words = [namedHead(member) ?? member.address];
  for (const option of OPTION_NAMES) {
    if (!member[option]) continue;
    words.push(
      option === 'nomail' && member.nomail_reason ? `nomail=${member.nomail_reason}` : option,
    );
  }
  return comment ? `${words.join(' ')} ${comment}` : words.join(' ');
}

/** The options of `type: text-file` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = lazySchema(() => z.strictObject({ file: z.string().min(1) }));

/** One member a line; `#` comments and non-member lines kept. */
const textFormat: MemberFileFormat<string[]> = {
  name: 'text-file',
  parse: (text) => (text === '' ? [] : text.replace(/\r?\n$/, '').split(/\r?\n/)),
  serialise: (lines) => (lines.length ? `${lines.join('\n')}\n` : ''),
  entries: (lines) => lines.map(parseMemberLine),
  // A name is kept when a line can hold it (no `#`, `<`, `>` or quotes in it).
  normal: (member) => tidyMember(namedHead(member) ? member : { ...member, name: undefined }),
  append: (lines, member) => void lines.push(formatMemberLine(member)),
  removeAt: (lines, i) => void lines.splice(i, 1),
  replaceAt: (lines, i, member) => {
    lines[i] = formatMemberLine(member, /#.*$/.exec(lines[i]!)?.[0] ?? '');
  },
};

/**
 * The members of `file` a page at a time, read line by line as `list()` parses them: the
 * file is read once and never held whole (a missing file has none).
 */
export async function* textMemberPages(file: string, size: number): AsyncIterable<Member[]> {
  const input = createReadStream(file, { encoding: 'utf8' });
  const opened = new Promise<boolean>((resolve, reject) => {
    input.once('ready', () => resolve(true));
    input.once('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ENOENT' ? resolve(false) : reject(error),
    );
  });
  if (!(await opened)) return;
  let page: Member[] = [];
  try {
    const { createInterface } = nodeReadline();
    for await (const line of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
      const member = parseMemberLine(line);
      if (!member) continue;
      page.push(member);
      if (page.length >= size) {
        yield page;
        page = [];
      }
    }
  } finally {
    input.destroy();
  }
  if (page.length > 0) yield page;
}

export default function createTextMemberStore(options: TextMemberStoreOptions): MemberStore {
  if (!options?.file) throw new Error('text-file member store: `file` is required');
  const { file } = options;
  return { ...fileMemberStore(file, textFormat), pages: (size) => textMemberPages(file, size) };
}
