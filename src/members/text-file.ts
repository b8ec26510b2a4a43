/**
 * `text-file` — a members file with one member a line: `address [option …] [# comment]`,
 * options being `digest`, `plain`, `nomail`, `nomail=bounce|user|admin`, `notmetoo`, `moderate`.
 * Comments, blank lines and the order of lines are kept; an edited line keeps its comment.
 * Changes go through the shared write path (file-store.ts): atomic, under a file lock.
 */
import { z } from 'zod';
import { isStorableAddress } from '../mail/address.ts';
import { fileMemberStore, type MemberFileFormat } from './file-store.ts';
import {
  type Member,
  type MemberStore,
  type NomailReason,
  OPTION_NAMES,
  tidyMember,
} from './store.ts';

export interface TextMemberStoreOptions {
  /** The members file (created on the first add). */
  file: string;
}

/** One line as a member, or undefined for comments, blank lines and junk (kept as they are). */
export function parseMemberLine(line: string): Member | undefined {
  const text = line.replace(/#.*$/, '').trim();
  if (!text) return undefined;
  const [address, ...words] = text.split(/\s+/);
  if (!address || !isStorableAddress(address)) return undefined;
  const member: Member = { address };
  for (const word of words) {
    const [name, value] = word.toLowerCase().split('=');
    if ((OPTION_NAMES as readonly string[]).includes(name!)) member[name as 'digest'] = true;
    if (name === 'nomail' && value) member.nomail_reason = value as NomailReason;
  }
  return tidyMember(member);
}

/** The line for a member, keeping `comment` (with its `#`). */
export function formatMemberLine(member: Member, comment = ''): string {
  const words = [member.address];
  for (const option of OPTION_NAMES) {
    if (!member[option]) continue;
    words.push(
      option === 'nomail' && member.nomail_reason ? `nomail=${member.nomail_reason}` : option,
    );
  }
  return comment ? `${words.join(' ')} ${comment}` : words.join(' ');
}

/** The options of `type: text-file` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = z.strictObject({ file: z.string().min(1) });

/** One member a line; `#` comments and non-member lines kept. */
const textFormat: MemberFileFormat<string[]> = {
  name: 'text-file',
  parse: (text) => (text === '' ? [] : text.replace(/\r?\n$/, '').split(/\r?\n/)),
  serialise: (lines) => (lines.length ? `${lines.join('\n')}\n` : ''),
  entries: (lines) => lines.map(parseMemberLine),
  // A name has no place in this format: the address and options only.
  normal: (member) => tidyMember({ ...member, name: undefined }),
  append: (lines, member) => void lines.push(formatMemberLine(member)),
  removeAt: (lines, i) => void lines.splice(i, 1),
  replaceAt: (lines, i, member) => {
    lines[i] = formatMemberLine(member, /#.*$/.exec(lines[i]!)?.[0] ?? '');
  },
};

export default function createTextMemberStore(options: TextMemberStoreOptions): MemberStore {
  if (!options?.file) throw new Error('text-file member store: `file` is required');
  return fileMemberStore(options.file, textFormat);
}
