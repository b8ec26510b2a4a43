/**
 * What `malist run` tidies each time, so the state directory does not grow with every
 * request a robot, an attacker or a mistyped address sends: confirmation tokens past their
 * expiry (pending and used) and request memos older than their use (replays after a crash
 * come within minutes; a memo is kept 30 days).
 */
import { join } from 'node:path';
import { RequestMemoStore } from '../commands/memo.ts';
import type { MemoStore } from '../state/memos.ts';
import { pruneTokens, type TokenStore } from '../state/tokens.ts';

/** How long a request memo is kept. */
export const MEMO_MAX_AGE_MS = 30 * 24 * 3600 * 1000;

export interface Pruned {
  tokens: number;
  memos: number;
}

/**
 * Deletes expired tokens and old request memos under `stateDir`, and the expired tokens of
 * `rows` (the token store on PostgreSQL, when storage: says so) and the old memos of
 * `memoRows` (the memos' rows, likewise).
 */
export async function pruneState(
  stateDir: string,
  now = Date.now(),
  rows?: TokenStore,
  memoRows?: MemoStore,
): Promise<Pruned> {
  const tokens =
    (await pruneTokens(join(stateDir, 'tokens'), now)) +
    (rows ? (await rows.expire(now)).length : 0);
  const memos =
    (await new RequestMemoStore(join(stateDir, 'requests')).prune(MEMO_MAX_AGE_MS, now)) +
    (memoRows ? await memoRows.prune(MEMO_MAX_AGE_MS, now) : 0);
  return { tokens, memos };
}
