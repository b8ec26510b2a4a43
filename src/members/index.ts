/** The static registry of member stores (YAML `member_store: { type: … }` → default factory). */
import createMemoryMemberStore from './memory.ts';
import type { MemberStore } from './store.ts';
import createTextMemberStore from './text-file.ts';
import createYamlMemberStore from './yaml.ts';

export const memberStores = {
  yaml: createYamlMemberStore,
  'text-file': createTextMemberStore,
  memory: createMemoryMemberStore,
} satisfies Record<string, (options: never) => MemberStore>;

export type MemberStoreType = keyof typeof memberStores;

/**
 * The store a list uses: its `members_file` (YAML when it ends in .yaml/.yml, else one
 * member a line), or the `members:` key of the list's own YAML file.
 */
export function openMemberStore(listFile: string, membersFile?: string): MemberStore {
  if (!membersFile) return createYamlMemberStore({ file: listFile });
  if (/\.ya?ml$/i.test(membersFile)) return createYamlMemberStore({ file: membersFile });
  return createTextMemberStore({ file: membersFile });
}

export type { Member, MemberOptions, MemberStore } from './store.ts';
