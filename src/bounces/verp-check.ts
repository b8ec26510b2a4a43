/**
 * Whether a VERP bounce address is one this list made: the member it names (directly, or
 * through the token long addresses get) and a cookie made for that member under the
 * installation secret, either a post's (from the accepted weeks) or the probe in flight's.
 * Anything else — no cookie, a wrong or expired one, a token of no member — counts for
 * nothing, and says why for the log.
 */
import type { ListSettings } from '../list/settings.ts';
import { isPostCookie, memberToken, probeCookie, sameCookie } from '../list/verp.ts';
import { normalizeAddress } from '../mail/address.ts';
import type { VerpParts } from '../mail/verp.ts';
import type { MemberStore } from '../members/store.ts';
import type { BounceStore } from './store.ts';

export type VerpProof =
  | { member: string; probeNonce?: string }
  | { refused: string; claimed?: string };

/** The member a token stands for, or undefined. */
async function memberOfToken(
  list: ListSettings,
  secret: Buffer,
  store: MemberStore,
  token: string,
): Promise<string | undefined> {
  for (const m of await store.list())
    if (sameCookie(memberToken(secret, list.name, m.address), token))
      return normalizeAddress(m.address);
  return undefined;
}

export async function proveVerp(
  list: ListSettings,
  secret: Buffer,
  parts: VerpParts,
  deps: { store: MemberStore; state: BounceStore; now: number },
): Promise<VerpProof> {
  const claimed = parts.recipient
    ? normalizeAddress(parts.recipient)
    : parts.token
      ? await memberOfToken(list, secret, deps.store, parts.token)
      : undefined;
  if (!claimed) return { refused: `a VERP token of no member (${parts.token ?? '?'})` };
  if (!parts.cookie) return { refused: 'a VERP address without a cookie', claimed };
  if (isPostCookie(secret, list.name, claimed, parts.cookie, deps.now)) return { member: claimed };
  const probe = (await deps.state.get(claimed))?.probe;
  if (probe && sameCookie(probeCookie(secret, list.name, claimed, probe.nonce), parts.cookie))
    return { member: claimed, probeNonce: probe.nonce };
  return { refused: 'a VERP cookie that is wrong or expired', claimed };
}
