/**
 * The member store of a configured list: its `members_file` (relative to the list file)
 * when it names one, else the `members:` key of the list file itself.
 */
import { dirname, resolve } from 'node:path';
import { openMemberStore } from './index.ts';
import type { MemberStore } from './store.ts';

export interface ListFile {
  /** The list file's absolute path. */
  path: string;
  /** The parsed YAML of the list file. */
  value: unknown;
}

export function memberStoreForList(source: ListFile): MemberStore {
  const value = (source.value ?? {}) as { members_file?: unknown };
  const file =
    typeof value.members_file === 'string'
      ? resolve(dirname(source.path), value.members_file)
      : undefined;
  return openMemberStore(source.path, file);
}
