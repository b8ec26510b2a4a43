/**
 * Who may do what on a list, decided on every request from the list's settings as they are
 * now (removing a moderator takes effect at once): site admins everything; owners
 * (`owners:`) members, settings, queue and moderation; moderators (`moderators:`) the held
 * queue and the statistics; members only their own page. Anyone else gets the same "no
 * such list" as for a list that does not exist, so a list's existence does not leak.
 */
import { normalizeAddress } from '../mail/address.ts';
import { memberSnapshot } from '../members/snapshot.ts';
import type { Who } from './session.ts';
import type { WebList } from './site.ts';

export type Role = 'admin' | 'owner' | 'moderator' | 'member';
export type Area = 'overview' | 'held' | 'members' | 'settings' | 'queue' | 'stats';

const NEEDS: Record<Area, Role[]> = {
  overview: ['admin', 'owner', 'moderator'],
  held: ['admin', 'owner', 'moderator'],
  members: ['admin', 'owner'],
  settings: ['admin', 'owner'],
  queue: ['admin', 'owner'],
  stats: ['admin', 'owner', 'moderator'],
};

function includes(addresses: string[] | undefined, address: string): boolean {
  const normal = normalizeAddress(address);
  return (addresses ?? []).some((a) => normalizeAddress(a) === normal);
}

/** The staff roles of `who` on `list` (no store read). */
export function staffRoles(who: Who | undefined, list: WebList): Role[] {
  if (!who) return [];
  if (who.kind === 'admin') return ['admin'];
  const roles: Role[] = [];
  if (includes(list.settings.owners, who.address)) roles.push('owner');
  if (includes(list.settings.moderators, who.address)) roles.push('moderator');
  return roles;
}

export async function isMember(list: WebList, address: string): Promise<boolean> {
  return (await memberSnapshot(list.store)).byAddress.has(normalizeAddress(address));
}

export function mayOpen(roles: Role[], area: Area): boolean {
  return roles.some((r) => NEEDS[area].includes(r));
}

/** The areas of a list `roles` may open, for the navigation. */
export function areasFor(roles: Role[]): Array<Exclude<Area, 'overview'>> {
  return (['held', 'members', 'settings', 'queue', 'stats'] as const).filter((a) =>
    mayOpen(roles, a),
  );
}
