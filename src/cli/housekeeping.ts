/**
 * What `malist run` tidies each time, so the state directory does not grow with every
 * request a robot, an attacker or a mistyped address sends: confirmation tokens past their
 * expiry (pending and used), request memos older than their use (replays after a crash
 * come within minutes; a memo is kept 30 days), and the tombstones of web API tokens revoked
 * more than 90 days ago (web-credentials.ts says why that is safe).
 */
import { join } from 'node:path';
import { RequestMemoStore } from '../commands/memo.ts';
import type { MemoStore } from '../state/memos.ts';
import { pruneTokens, type TokenStore } from '../state/tokens.ts';
import { REVOKED_KEEP_MS, type WebCredentials } from '../state/web-credentials.ts';

/** How long a request memo is kept. */
export const MEMO_MAX_AGE_MS = 30 * 24 * 3600 * 1000;

export interface Pruned {
  tokens: number;
  memos: number;
  /** Tombstones of revoked web API tokens trimmed. */
  revoked: number;
}

/**
 * Deletes expired tokens and old request memos under `stateDir`, and the expired tokens of
 * `rows` (the token store on PostgreSQL, when storage: says so) and the old memos of
 * `memoRows` (the memos' rows, likewise), and the old tombstones of `web` (the web's
 * credentials wherever storage: keeps them).
 */
export async function pruneState(
  stateDir: string,
  now = Date.now(),
  rows?: TokenStore,
  memoRows?: MemoStore,
  web?: () => Promise<WebCredentials>,
): Promise<Pruned> {
  const tokens =
    (await pruneTokens(join(stateDir, 'tokens'), now)) +
    (rows ? (await rows.expire(now)).length : 0);
  const memos =
    (await new RequestMemoStore(join(stateDir, 'requests')).prune(MEMO_MAX_AGE_MS, now)) +
    (memoRows ? await memoRows.prune(MEMO_MAX_AGE_MS, now) : 0);
  // Last: credentials that cannot be opened (the database down) cost none of the above.
  const revoked = web ? await (await web()).trimRevoked(now - REVOKED_KEEP_MS) : 0;
  return { tokens, memos, revoked };
}
