/**
 * A member store that says what changed, for webhooks: a member added (subscribed),
 * removed (unsubscribed) or set to nomail by bounces (disabled), whoever did it — a
 * confirmation by mail, the bounce handler, the web, the one-click endpoint. The listener
 * runs after the store's write and never fails it.
 */
import { normalizeAddress } from '../mail/address.ts';
import type { Member, MemberChanges, MemberStore } from './store.ts';

export type MemberChange =
  | { kind: 'subscribed'; address: string; member: Member }
  | { kind: 'unsubscribed'; address: string }
  | { kind: 'disabled'; address: string; member: Member };

export function observeMembers(
  store: MemberStore,
  listener: (change: MemberChange) => Promise<void> | void,
): MemberStore {
  const tell = async (change: MemberChange) => {
    try {
      await listener(change);
    } catch {
      // a listener never undoes or fails the change
    }
  };
  return {
    name: store.name,
    list: () => store.list(),
    ...(store.pages ? { pages: (size: number) => store.pages!(size) } : {}),
    get: (address) => store.get(address),
    ...(store.revision ? { revision: () => store.revision!() } : {}),
    async add(member) {
      const result = await store.add(member);
      if (result === 'added') await tell({ kind: 'subscribed', address: member.address, member });
      return result;
    },
    async addMany(members) {
      const added = store.addMany ? await store.addMany(members) : [];
      if (!store.addMany)
        for (const member of members) if ((await store.add(member)) === 'added') added.push(member);
      for (const member of added)
        await tell({ kind: 'subscribed', address: member.address, member });
      return added;
    },
    ...(store.applyMany
      ? {
          async applyMany(changes: MemberChanges) {
            const before = new Set((await store.list()).map((m) => normalizeAddress(m.address)));
            const done = await store.applyMany!(changes);
            const after = new Set((await store.list()).map((m) => normalizeAddress(m.address)));
            for (const member of changes.add)
              if (
                !before.has(normalizeAddress(member.address)) &&
                after.has(normalizeAddress(member.address))
              )
                await tell({ kind: 'subscribed', address: member.address, member });
            for (const member of changes.remove)
              if (
                before.has(normalizeAddress(member.address)) &&
                !after.has(normalizeAddress(member.address))
              )
                await tell({ kind: 'unsubscribed', address: member.address });
            return done;
          },
        }
      : {}),
    async remove(address) {
      const removed = await store.remove(address);
      if (removed) await tell({ kind: 'unsubscribed', address });
      return removed;
    },
    async update(address, patch) {
      const before = patch.nomail_reason === 'bounce' ? await store.get(address) : undefined;
      const after = await store.update(address, patch);
      if (after?.nomail && after.nomail_reason === 'bounce' && !before?.nomail)
        await tell({ kind: 'disabled', address, member: after });
      return after;
    },
  };
}
