/**
 * What the members pages and the API share: a search over a list's members (a kept
 * snapshot, so a 100,000-member list is read once per change, not per request), a
 * member's bounce record as the owner reads it, and the options patch an owner may set.
 */
import { decayedScore } from '../bounces/score.ts';
import type { BounceStorage } from '../bounces/store.ts';
import { memberSnapshot } from '../members/snapshot.ts';
import { type Member, type MemberPatch, OPTION_NAMES } from '../members/store.ts';
import type { WebList } from './site.ts';
import type { BounceInfo } from './views/members.tsx';

export interface MemberSearch {
  total: number;
  matched: number;
  members: Member[];
}

/** Members whose address or name contains `q` (any case), `limit` from `offset`. */
/**
 * Each member's address and name, lowercased once per snapshot (a snapshot's array is
 * replaced, never changed): a search of 100,000 members lowercased 200,000 strings each
 * time before (`npm run bench -- --web`).
 */
const keysOf = new WeakMap<readonly Member[], string[]>();

function searchKeys(members: readonly Member[]): string[] {
  let keys = keysOf.get(members);
  if (!keys) {
    keys = members.map((m) => `${m.address}\u0000${m.name ?? ''}`.toLowerCase());
    keysOf.set(members, keys);
  }
  return keys;
}

export async function searchMembers(
  list: WebList,
  q: string,
  offset: number,
  limit: number,
): Promise<MemberSearch> {
  const { members } = await memberSnapshot(list.store);
  const needle = q.trim().toLowerCase();
  let matched = members;
  if (needle) {
    const keys = searchKeys(members);
    matched = members.filter((_, i) => keys[i]!.includes(needle));
  }
  return {
    total: members.length,
    matched: matched.length,
    members: matched.slice(offset, offset + limit),
  };
}

export async function bounceInfo(
  bounces: BounceStorage,
  list: WebList,
  address: string,
  now = Date.now(),
): Promise<BounceInfo | undefined> {
  const record = await bounces.records(list.name).get(address);
  if (!record) return undefined;
  return {
    score: decayedScore(record, now, list.settings.bounces),
    threshold: list.settings.bounces?.threshold ?? 5,
    count: record.count,
    updated: new Date(record.updated).toISOString(),
    ...(record.last_diagnostic ? { lastDiagnostic: record.last_diagnostic } : {}),
    ...(record.disabled_at ? { disabledAt: new Date(record.disabled_at).toISOString() } : {}),
    history: (record.evidence ?? []).map((e) => ({
      at: new Date(e.at).toISOString(),
      source: e.source,
      class: e.class,
      diagnostic: e.diagnostic,
      ...(e.probe ? { probe: true } : {}),
    })),
  };
}

/**
 * After an owner re-enables delivery, the member starts again from a score of 0, as in
 * Mailman: the old score would disable them again at the next bounce, with no probe. The
 * count and the evidence stay, for the owner to read.
 */
export async function resetBounceScore(
  bounces: BounceStorage,
  list: WebList,
  address: string,
  now = Date.now(),
): Promise<void> {
  await bounces.records(list.name).change(address, (record) => {
    if (!record) return record;
    const { disabled_at: _disabled, probe: _probe, ...rest } = record;
    return { ...rest, score: 0, updated: now, day_added: 0 };
  });
}

/**
 * The patch of an options form: every option ticked or not. Nomail set by an owner says
 * so; turning nomail off drops its reason (a re-enable).
 */
export function optionsPatch(on: (option: string) => boolean, current: Member): MemberPatch {
  const patch: MemberPatch = {};
  for (const option of OPTION_NAMES) patch[option] = on(option);
  if (patch.nomail && !current.nomail) patch.nomail_reason = 'admin';
  return patch;
}
