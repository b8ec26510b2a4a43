/**
 * The member store contract: who is on a list and with which options. Backends (a YAML
 * file today, a database later) implement `MemberStore`; one contract suite
 * (test/members/contract.ts) runs against each. Every change is idempotent — adding a
 * member twice or removing one who is gone is a no-op — so a replay after a crash is safe.
 */
import { addressProblem, normalizeAddress } from '../mail/address.ts';

/** Why a member gets no mail: they asked, bounces, or an admin decided. */
export type NomailReason = 'user' | 'bounce' | 'admin';

export interface MemberOptions {
  /** Receives digests instead of single posts. @default false */
  digest?: boolean;
  /** Digests as plain text (RFC 1153) rather than MIME. @default false */
  plain?: boolean;
  /** Receives nothing (still a member: may post). @default false */
  nomail?: boolean;
  /** Why `nomail` was set; a bounce-set nomail is lifted by `set mail`. */
  nomail_reason?: NomailReason;
  /** Not sent copies of their own posts. @default false */
  notmetoo?: boolean;
  /** Their posts are held for a moderator. @default false */
  moderate?: boolean;
}

export interface Member extends MemberOptions {
  /** The address as subscribed (compared in normal form). */
  address: string;
  /** Display name, when known. */
  name?: string;
}

export type MemberPatch = MemberOptions & { name?: string };

/** Changes made together (`MemberStore.applyMany`). */
export interface MemberChanges {
  add: Member[];
  remove: Member[];
  /** Members as they are to be stored (matched by normal address). */
  change: Member[];
}

export interface MemberStore {
  /** The backend's name (`yaml`, `memory`, …), for messages. */
  readonly name: string;
  /** Every member, in stored order. */
  list(): Promise<Member[]>;
  /**
   * Every member, in stored order, a page of at most `size` at a time (never an empty
   * page), so a post to a 1,000,000-member list never holds them all. Each member once, as
   * `list()` has it. Absent: `list()` cut into pages (see `memberPages`).
   */
  pages?(size: number): AsyncIterable<Member[]>;
  /** The member with this address (normal-form comparison), or undefined. */
  get(address: string): Promise<Member | undefined>;
  /** Adds a member; an existing one is left as it is. Throws on an invalid address. */
  add(member: Member): Promise<'added' | 'exists'>;
  /**
   * Adds many members in one write (a bulk import); those already there are left as they
   * are. Returns the members added. Absent: `add` one by one.
   */
  addMany?(members: Member[]): Promise<Member[]>;
  /**
   * Adds, removes and changes many members in one write (a sync): each change idempotent
   * as its single form, `change` members replacing the stored ones (options not on turned
   * off). Returns how many of each were done. Absent: one change at a time.
   */
  applyMany?(changes: MemberChanges): Promise<{ added: number; removed: number; changed: number }>;
  /** Removes a member; false when there was none. */
  remove(address: string): Promise<boolean>;
  /** Changes options of a member; undefined when there is none. `false` options are removed. */
  update(address: string, patch: MemberPatch): Promise<Member | undefined>;
  /**
   * A token that changes whenever the members may have changed (a file's size, time and
   * inode), so a reader can keep what it read until then; absent: read again every time.
   */
  revision?(): Promise<string>;
}

export const OPTION_NAMES = ['digest', 'plain', 'nomail', 'notmetoo', 'moderate'] as const;
export type OptionName = (typeof OPTION_NAMES)[number];

/** A member with only the options that are on (the stored shape). */
export function tidyMember(member: Member): Member {
  const out: Member = { address: member.address.trim() };
  if (member.name) out.name = member.name;
  for (const option of OPTION_NAMES) if (member[option]) out[option] = true;
  if (member.nomail && member.nomail_reason) out.nomail_reason = member.nomail_reason;
  return out;
}

/** Applies a patch: options set to false disappear; turning nomail off drops its reason. */
export function patchMember(member: Member, patch: MemberPatch): Member {
  const next: Member = { ...member, ...patch };
  if (patch.nomail === true && !patch.nomail_reason) next.nomail_reason ??= 'user';
  return tidyMember(next);
}

/**
 * The normal form, or a thrown error naming the bad address and what is wrong with it:
 * only addresses of the one grammar (`addressProblem`) are ever stored.
 */
export function requireAddress(address: string): string {
  const problem = addressProblem(address);
  const normal = problem ? '' : normalizeAddress(address);
  if (!normal)
    throw new Error(
      `member store: ${JSON.stringify(address.slice(0, 100))} cannot be a member: ${problem ?? 'it is not a mail address'}`,
    );
  return normal;
}

/**
 * A member as written in text (`alice@example.org` or `Alice Smith <alice@example.org>`),
 * or what is wrong with it. The one reading the YAML store and the config loader share;
 * the address inside `<>` is taken as written, never re-parsed.
 */
export function parseMemberText(text: string): { address: string; name?: string } | string {
  const trimmed = text.trim();
  const angle = /^(.*?)\s*<([^<>]*)>$/s.exec(trimmed);
  const address = angle ? angle[2]!.trim() : trimmed;
  const problem = addressProblem(address);
  if (problem) return `${JSON.stringify(address.slice(0, 100))} ${problem}`;
  const name = angle?.[1]
    ?.trim()
    .replace(/^"(.*)"$/s, '$1')
    .replace(/\\(.)/g, '$1');
  return name ? { address, name } : { address };
}

/** Members who get digests. */
export function digestRecipients(members: readonly Member[]): Member[] {
  return members.filter((m) => !m.nomail && m.digest);
}

/** How many members a page holds when the caller names no size. */
export const MEMBER_PAGE = 10_000;

/**
 * The members of `store` a page at a time: the store's own `pages` when it has one (read
 * as they come), else its `list()` cut into pages (all in memory once, as before).
 */
export async function* memberPages(
  store: MemberStore,
  size = MEMBER_PAGE,
): AsyncIterable<Member[]> {
  if (store.pages) {
    yield* store.pages(size);
    return;
  }
  const all = await store.list();
  for (let from = 0; from < all.length; from += size) yield all.slice(from, from + size);
}
