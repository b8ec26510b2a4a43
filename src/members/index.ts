/** The static registry of member stores (YAML `member_store: { type: … }` → default factory). */

import type { UnitModule } from '../types.ts';
import * as memory from './memory.ts';
import type { MemberStore } from './store.ts';
import * as textFile from './text-file.ts';
import * as yaml from './yaml.ts';

export const memberStores = {
  yaml: yaml,
  'text-file': textFile,
  memory: memory,
} satisfies Record<string, UnitModule<(options: never) => MemberStore>>;

export type MemberStoreType = keyof typeof memberStores;

/**
 * The store a list uses: its `members_file` (YAML when it ends in .yaml/.yml, else one
 * member a line), or the `members:` key of the list's own YAML file.
 */
export function openMemberStore(listFile: string, membersFile?: string): MemberStore {
  if (!membersFile) return yaml.default({ file: listFile });
  if (/\.ya?ml$/i.test(membersFile)) return yaml.default({ file: membersFile });
  return textFile.default({ file: membersFile });
}

export type { Member, MemberOptions, MemberStore } from './store.ts';
