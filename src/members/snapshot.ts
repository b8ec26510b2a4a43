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

async function read(store: MemberStore): Promise<MemberSnapshot> {
  const members = await store.list();
  return { members, byAddress: new Map(members.map((m) => [normalizeAddress(m.address), m])) };
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
