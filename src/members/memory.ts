/** `memory` — a member store in memory: for tests and as the reference implementation. */

import { z } from 'zod';
import { normalizeAddress } from '../mail/address.ts';
import { lazySchema } from '../mail/deferred-option.ts';
import {
  type Member,
  type MemberPatch,
  type MemberStore,
  patchMember,
  requireAddress,
  tidyMember,
} from './store.ts';

export interface MemoryMemberStoreOptions {
  /** Initial members. @default [] */
  members?: Member[];
}

/** The options of `type: memory` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = lazySchema(() =>
  z.strictObject({ members: z.array(z.unknown()).optional() }),
);

export default function createMemoryMemberStore(
  options: MemoryMemberStoreOptions = {},
): MemberStore {
  let members = (options.members ?? []).map(tidyMember);
  const find = (address: string) => {
    const normal = normalizeAddress(address);
    return members.findIndex((m) => normalizeAddress(m.address) === normal);
  };
  return {
    name: 'memory',
    async list() {
      return members.map((m) => ({ ...m }));
    },
    async get(address) {
      const i = find(address);
      return i < 0 ? undefined : { ...members[i]! };
    },
    async add(member) {
      requireAddress(member.address);
      if (find(member.address) >= 0) return 'exists';
      members.push(tidyMember(member));
      return 'added';
    },
    async applyMany(changes) {
      for (const m of changes.add) requireAddress(m.address);
      const done = { added: 0, removed: 0, changed: 0 };
      for (const m of changes.change) {
        const i = find(m.address);
        if (i < 0) continue;
        const next = tidyMember({ ...m, address: members[i]!.address });
        if (JSON.stringify(next) === JSON.stringify(members[i])) continue;
        members[i] = next;
        done.changed++;
      }
      const gone = new Set(changes.remove.map((m) => normalizeAddress(m.address)));
      const before = members.length;
      members = members.filter((m) => !gone.has(normalizeAddress(m.address)));
      done.removed = before - members.length;
      for (const m of changes.add) {
        if (find(m.address) >= 0) continue;
        members.push(tidyMember(m));
        done.added++;
      }
      return done;
    },
    async remove(address) {
      const i = find(address);
      if (i < 0) return false;
      members = members.filter((_, j) => j !== i);
      return true;
    },
    async update(address: string, patch: MemberPatch) {
      const i = find(address);
      if (i < 0) return undefined;
      members[i] = patchMember(members[i]!, patch);
      return { ...members[i]! };
    },
  };
}
