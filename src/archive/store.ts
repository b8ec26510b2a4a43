/**
 * The archive as the rest of malist sees it: posts added, listed by month, thread and list,
 * read back byte for byte, searched, counted and exported. Two backends, chosen by
 * `storage:` in malist.yaml like every other store:
 *
 * - `filesArchive` (the default): the monthly mbox/maildir files under the archive
 *   distributor's `dir`, which stay the truth, and their SQLite FTS5 index (db.ts);
 * - `PgArchive` (pg-store.ts): one row per post in PostgreSQL with its bytes and words, so
 *   every host sharing the database archives into, and reads, one archive.
 *
 * Every method is async (the files' calls are synchronous SQLite underneath).
 */
import {
  latestPosts,
  type MonthCount,
  type MonthPage,
  monthPosts,
  months,
  monthThreads,
  neighbours,
  threadPosts,
} from './browse.ts';
import { type ArchivedPost, ArchiveIndex } from './db.ts';
import { exportArchive } from './export.ts';
import { extractPost } from './extract.ts';
import { type Prepared, writePosts } from './import.ts';
import type { ArchiveFormat } from './paths.ts';
import { readStored } from './read.ts';
import { type SearchOptions, type SearchResult, search } from './search.ts';
import { archivedLists, filingDate, syncList } from './sync.ts';

export interface MonthRange {
  /** First month, `YYYY-MM`. */
  from?: string;
  /** Last month, `YYYY-MM`. */
  to?: string;
}

export interface ArchiveStore {
  readonly kind: 'files' | 'postgres';
  /** Where the archive is, for messages: its root directory, or the database (no password). */
  readonly where: string;
  /**
   * Adds a post (its bytes as they are to be kept) unless the list holds its Message-ID;
   * `archivedAt` dates it when its Date field is missing or absurd.
   */
  add(
    list: string,
    bytes: Buffer,
    archivedAt: number,
  ): Promise<{ added: boolean; messageId: string }>;
  /** Adds posts as `add` does, in one transaction (rows) or one append a month (files). */
  addMany(
    list: string,
    posts: readonly { bytes: Buffer; archivedAt: number }[],
  ): Promise<{ added: boolean; messageId: string }[]>;
  post(list: string, messageId: string): Promise<ArchivedPost | undefined>;
  /** A post's stored bytes. */
  read(post: ArchivedPost): Promise<Buffer>;
  /** The lists it holds posts of. */
  lists(): Promise<string[]>;
  count(list?: string): Promise<number>;
  months(list: string): Promise<MonthCount[]>;
  monthThreads(
    list: string,
    month: string,
    page?: { limit?: number; offset?: number },
  ): Promise<MonthPage>;
  threadPosts(list: string, threadId: string): Promise<ArchivedPost[]>;
  monthPosts(list: string, month: string): Promise<ArchivedPost[]>;
  latestPosts(list: string, limit?: number): Promise<ArchivedPost[]>;
  neighbours(post: ArchivedPost): Promise<{ previous?: ArchivedPost; next?: ArchivedPost }>;
  search(options: SearchOptions): Promise<SearchResult>;
  /** A list's archive as one mbox (mboxrd), chunk by chunk, months in order. */
  export(list: string, range?: MonthRange): AsyncGenerator<Buffer>;
  close(): Promise<void>;
}

/** The files backend over an open index (`shared`: the caller closes the index). */
export function filesArchive(
  index: ArchiveIndex,
  format: ArchiveFormat = 'mbox',
  shared = false,
): ArchiveStore & { index: ArchiveIndex; sync(): Promise<void> } {
  const root = index.root;
  const addMany: ArchiveStore['addMany'] = async (list, posts) => {
    const out: { added: boolean; messageId: string }[] = [];
    const fresh: Prepared[] = [];
    const ids = new Set<string>();
    for (const { bytes, archivedAt } of posts) {
      const { meta, text } = extractPost(bytes);
      const added = !ids.has(meta.messageId) && !index.has(list, meta.messageId);
      out.push({ added, messageId: meta.messageId });
      if (!added) continue;
      ids.add(meta.messageId);
      fresh.push({ meta, text, bytes, date: filingDate(meta.date, archivedAt) });
    }
    if (fresh.length > 0) await writePosts(index, list, format, fresh);
    return out;
  };
  return {
    kind: 'files',
    where: root,
    index,
    async add(list, bytes, archivedAt) {
      const [one] = await addMany(list, [{ bytes, archivedAt }]);
      return one!;
    },
    addMany,
    post: async (list, messageId) => index.post(list, messageId),
    read: (post) => readStored(root, post),
    lists: async () => index.lists(),
    count: async (list) => index.count(list),
    months: async (list) => months(index, list),
    monthThreads: async (list, month, page) => monthThreads(index, list, month, page),
    threadPosts: async (list, threadId) => threadPosts(index, list, threadId),
    monthPosts: async (list, month) => monthPosts(index, list, month),
    latestPosts: async (list, limit) => latestPosts(index, list, limit),
    neighbours: async (post) => neighbours(index, post),
    search: async (options) => search(index, options),
    export: (list, range = {}) => exportArchive({ dir: root, list, ...range }),
    /** Indexes what the files hold and the index lacks (a crash, a lost index). */
    async sync() {
      for (const list of await archivedLists(root)) await syncList(index, list);
    },
    async close() {
      if (!shared) index.close();
    },
  };
}

/** Opens the files backend of the archive at `root` (its index created when missing). */
export function openFilesArchive(root: string, format?: ArchiveFormat) {
  return filesArchive(ArchiveIndex.open(root), format);
}
