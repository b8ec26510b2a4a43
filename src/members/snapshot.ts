/**
 * What readers of a large list (the web's members pages, 100,000 members in a YAML file)
 * keep between requests: the members as of the store's revision, read again only when the
 * file changed. A store without `revision()` is read every time.
 */
import { normalizeAddress } from '../mail/address.ts';
import type { Member, MemberStore } from './store.ts';

export interface MemberSnapshot {
  members: Member[];
  /** The member with this normal address. */
  byAddress: Map<string, Member>;
}

const kept = new WeakMap<MemberStore, { revision: string; snapshot: Promise<MemberSnapshot> }>();

/**
 * The index by address is made when first asked for: the members pages only page through
 * `members`, and on a 100,000-member list the map and its 100,000 normal addresses are
 * ~10 MB the web server would otherwise hold (`npm run bench -- --web`).
 */
async function read(store: MemberStore): Promise<MemberSnapshot> {
  const members = await store.list();
  let byAddress: Map<string, Member> | undefined;
  return {
    members,
    get byAddress() {
      byAddress ??= new Map(members.map((m) => [normalizeAddress(m.address), m]));
      return byAddress;
    },
  };
}

/** The members of `store` now (a kept copy while its revision holds). */
export async function memberSnapshot(store: MemberStore): Promise<MemberSnapshot> {
  if (!store.revision) return read(store);
  const revision = await store.revision();
  const known = kept.get(store);
  if (known?.revision === revision) return known.snapshot;
  const snapshot = read(store);
  kept.set(store, { revision, snapshot });
  snapshot.catch(() => kept.delete(store));
  return snapshot;
}
