/**
 * What a handled command mail produced (its replies and the tokens it used), written
 * durably before the tokens are consumed: a replay after a crash returns the very same
 * replies (same keys, so the journal sends each once) instead of running the commands again.
 * The store is state/memos.ts (files under `STATE/requests`, or PostgreSQL rows).
 */
export {
  FileMemoStore as RequestMemoStore,
  type MemoStore,
  type RequestMemo,
} from '../state/memos.ts';
