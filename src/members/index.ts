/** The static registry of member stores (YAML `member_store: { type: … }` → default factory). */
import createMemoryMemberStore from './memory.ts';
import type { MemberStore } from './store.ts';
import createYamlMemberStore from './yaml.ts';

export const memberStores = {
  yaml: createYamlMemberStore,
  memory: createMemoryMemberStore,
} satisfies Record<string, (options: never) => MemberStore>;

export type MemberStoreType = keyof typeof memberStores;
export type { Member, MemberOptions, MemberStore } from './store.ts';
