/**
 * `text-file` — a members file with one member a line: `address [option …] [# comment]`,
 * options being `digest`, `plain`, `nomail`, `nomail=bounce|user|admin`, `notmetoo`, `moderate`.
 * Comments, blank lines and the order of lines are kept; an edited line keeps its comment.
 * Every change is written atomically (temp + fsync + rename) under a file lock.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { normalizeAddress } from '../mail/address.ts';
import { writeFileDurable } from '../state/durable.ts';
import { withFileLock } from '../state/lock.ts';
import {
  type Member,
  type MemberPatch,
  type MemberStore,
  type NomailReason,
  OPTION_NAMES,
  patchMember,
  requireAddress,
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
  if (!address || !normalizeAddress(address)) return undefined;
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

export default function createTextMemberStore(options: TextMemberStoreOptions): MemberStore {
  if (!options?.file) throw new Error('text-file member store: `file` is required');

  async function lines(): Promise<string[]> {
    try {
      const text = await readFile(options.file, 'utf8');
      return text === '' ? [] : text.replace(/\r?\n$/, '').split(/\r?\n/);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }
  const indexOf = (all: string[], address: string) => {
    const normal = normalizeAddress(address);
    return all.findIndex((l) => {
      const m = parseMemberLine(l);
      return m !== undefined && normalizeAddress(m.address) === normal;
    });
  };
  function change<T>(edit: (all: string[]) => { result: T; changed: boolean }): Promise<T> {
    return withFileLock(options.file, async () => {
      const all = await lines();
      const { result, changed } = edit(all);
      if (changed) await writeFileDurable(options.file, all.length ? `${all.join('\n')}\n` : '');
      return result;
    });
  }
  async function list(): Promise<Member[]> {
    return (await lines()).map(parseMemberLine).filter((m): m is Member => m !== undefined);
  }
  return {
    name: 'text-file',
    list,
    async get(address) {
      const normal = normalizeAddress(address);
      return (await list()).find((m) => normalizeAddress(m.address) === normal);
    },
    async add(member) {
      requireAddress(member.address);
      return change((all) => {
        if (indexOf(all, member.address) >= 0) return { result: 'exists' as const, changed: false };
        // A name has no place in this format: the address and options only.
        all.push(formatMemberLine(tidyMember({ ...member, name: undefined })));
        return { result: 'added' as const, changed: true };
      });
    },
    remove(address) {
      return change((all) => {
        const i = indexOf(all, address);
        if (i < 0) return { result: false, changed: false };
        all.splice(i, 1);
        return { result: true, changed: true };
      });
    },
    update(address: string, patch: MemberPatch) {
      return change((all) => {
        const i = indexOf(all, address);
        if (i < 0) return { result: undefined, changed: false };
        const current = parseMemberLine(all[i]!)!;
        const next = patchMember(current, { ...patch, name: undefined });
        const comment = /#.*$/.exec(all[i]!)?.[0] ?? '';
        const line = formatMemberLine(next, comment);
        if (line === all[i]) return { result: next, changed: false };
        all[i] = line;
        return { result: next, changed: true };
      });
    },
  };
}
