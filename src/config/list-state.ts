/**
 * The lists' smaller state as one bundle (request memos, notice counts, post counters,
 * digest collections), and its files under state_dir. Apart from storage-pg.ts, which adds the
 * PostgreSQL side, so the public API's types (services.ts) never name the `pg` package's.
 */
import { join } from 'node:path';
import { type DigestCollection, DigestStore } from '../digest/store.ts';
import { FileCounters, type PostCounters } from '../state/counters.ts';
import {
  FileMemoStore,
  FileNoticeCounts,
  type MemoStore,
  type NoticeCounts,
} from '../state/memos.ts';

/** The lists' smaller state: request memos, notice counts, post counters, digest collections. */
export interface ListState {
  /** What handled command mails replied (crash replay), `state_dir/requests` or rows. */
  memos: MemoStore;
  /** The daily notice budget's counts, `state_dir/notices` or rows. */
  noticeCounts: NoticeCounts;
  /** The `%d` subject prefix's post numbers, `state_dir/lists/counters` or rows. */
  counters: PostCounters;
  /** A list's digest in the making, `state_dir/digest/LIST` or rows. */
  digest(list: string): Promise<DigestCollection>;
}

/** The files under `stateDir`, whatever `storage:` says (`malist storage migrate`'s one side). */
export function fileListState(stateDir: string): ListState {
  return {
    memos: new FileMemoStore(join(stateDir, 'requests')),
    noticeCounts: new FileNoticeCounts(join(stateDir, 'notices')),
    counters: new FileCounters(join(stateDir, 'lists')),
    digest: async (list) => new DigestStore(stateDir, list),
  };
}
