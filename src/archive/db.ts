/**
 * The archive index: one SQLite file beside the archive (`DIR/index.sqlite`), one row per
 * post and an FTS5 table over its words. It is a cache of the archive files, never the
 * truth: every row says where its bytes are (an mbox offset, or a maildir file), and
 * `malist archive reindex` (or deleting the file) rebuilds it from them.
 *
 * SQLite through better-sqlite3 12 (13 needs Node 22): synchronous calls of a few tens of
 * microseconds, WAL so the web pages read while `malist run` writes, and a busy timeout
 * for writers in other processes. The native module is loaded when an index is opened, so
 * malist runs without it (a package installed with its build script refused) until an
 * archive index is used — then the error says how to build it.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { ErrorCode, StageError } from '../errors.ts';
import type { PostMeta, PostText } from './extract.ts';
import { isReplySubject, SUBJECT_WINDOW_MS, subjectKey } from './thread.ts';

type Database = BetterSqlite3.Database;

/** The index file of an archive root. */
export const INDEX_FILE = 'index.sqlite';
const SCHEMA_VERSION = '1';

/** A post as the index lists it. */
export interface ArchivedPost {
  id: number;
  list: string;
  messageId: string;
  /** The thread's root Message-ID (possibly of a post the archive lacks). */
  threadId: string;
  refs: string[];
  /** ms since the epoch (the Date field, or when it was archived when that is unusable). */
  date: number;
  /** YYYY-MM of `date` (UTC). */
  month: string;
  fromName: string;
  fromAddr: string;
  subject: string;
  size: number;
  /** The stored bytes: a file relative to the archive root, and for an mbox the record's offset and length. */
  file: string;
  offset: number;
  length: number;
  attachments: number;
}

/** Where a post's bytes are, relative to the archive root. */
export interface Location {
  file: string;
  /** Byte offset of the record's From_ line in an mbox; -1 for a maildir file. */
  offset: number;
  length: number;
}

/** A row of `posts` (as selected with `*`): the post's fields, some under their SQL names. */
type Row = Omit<ArchivedPost, 'messageId' | 'threadId' | 'refs' | 'fromName' | 'fromAddr'> & {
  message_id: string;
  thread_id: string;
  /** Space-separated. */
  refs: string;
  from_name: string;
  from_addr: string;
};

export function toPost(row: Row): ArchivedPost {
  return {
    id: row.id,
    list: row.list,
    messageId: row.message_id,
    threadId: row.thread_id,
    refs: row.refs ? row.refs.split(' ') : [],
    date: row.date,
    month: row.month,
    fromName: row.from_name,
    fromAddr: row.from_addr,
    subject: row.subject,
    size: row.size,
    file: row.file,
    offset: row.offset,
    length: row.length,
    attachments: row.attachments,
  };
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS posts (
  id INTEGER PRIMARY KEY,
  list TEXT NOT NULL,
  message_id TEXT NOT NULL,
  thread_id TEXT NOT NULL,
  refs TEXT NOT NULL,
  subject_key TEXT NOT NULL,
  reply INTEGER NOT NULL,
  date INTEGER NOT NULL,
  month TEXT NOT NULL,
  from_name TEXT NOT NULL,
  from_addr TEXT NOT NULL,
  subject TEXT NOT NULL,
  size INTEGER NOT NULL,
  file TEXT NOT NULL,
  offset INTEGER NOT NULL,
  length INTEGER NOT NULL,
  attachments INTEGER NOT NULL,
  UNIQUE (list, message_id)
);
CREATE INDEX IF NOT EXISTS posts_thread ON posts (list, thread_id, date);
CREATE INDEX IF NOT EXISTS posts_month ON posts (list, month, date);
CREATE INDEX IF NOT EXISTS posts_subject ON posts (list, subject_key, date);
CREATE INDEX IF NOT EXISTS posts_from ON posts (from_addr);
CREATE INDEX IF NOT EXISTS posts_file ON posts (file);
CREATE TABLE IF NOT EXISTS sources (path TEXT PRIMARY KEY, scanned INTEGER NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS texts USING fts5 (
  subject, author, body, quoted,
  tokenize = 'unicode61 remove_diacritics 2'
);
`;

/** CJK scripts are written without spaces: each character is indexed as a word of its own. */
const CJK =
  /([\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}])(?=[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}])/gu;

/** Text as the index sees it (CJK characters spaced); queries go through the same. */
export function indexText(text: string): string {
  return text.replace(CJK, '$1 ');
}

let driver: typeof BetterSqlite3 | undefined;

function sqlite(): typeof BetterSqlite3 {
  if (driver) return driver;
  try {
    driver = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
    return driver;
  } catch (error) {
    throw notBuilt(error);
  }
}

function notBuilt(error: unknown): StageError {
  return new StageError(
    'the archive index needs the better-sqlite3 package and its native module, which could not be loaded. ' +
      'Build it with `npm rebuild better-sqlite3` (npm 11 skips install scripts until allowed: ' +
      '`npm install-scripts approve better-sqlite3`), or set `index: false` on the archive distributor',
    { code: ErrorCode.CONFIG, unit: 'archive-index', cause: error },
  );
}

export interface AddResult {
  added: boolean;
  id: number;
  threadId: string;
}

/** One archive root's index, open. */
export class ArchiveIndex {
  readonly db: Database;
  /** The archive root the stored locations are relative to. */
  readonly root: string;
  private statements = new Map<string, BetterSqlite3.Statement>();

  private constructor(db: Database, root: string) {
    this.db = db;
    this.root = root;
  }

  /** Opens (creating when missing) the index of the archive at `root`. */
  static open(root: string, options: { readonly?: boolean } = {}): ArchiveIndex {
    const Driver = sqlite();
    const path = join(root, INDEX_FILE);
    let db: Database;
    try {
      if (!options.readonly) mkdirSync(dirname(path), { recursive: true });
      db = new Driver(path, options.readonly ? { readonly: true, fileMustExist: true } : {});
    } catch (error) {
      if (/bindings|\.node\b|NODE_MODULE_VERSION|ERR_DLOPEN/i.test(String(error)))
        throw notBuilt(error);
      throw new StageError(`cannot open the archive index ${path}`, {
        code: ErrorCode.STORAGE,
        unit: 'archive-index',
        cause: error,
        temporary: true,
      });
    }
    db.pragma('busy_timeout = 15000');
    if (!options.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.exec(SCHEMA);
      db.prepare('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)').run(
        'schema',
        SCHEMA_VERSION,
      );
    }
    return new ArchiveIndex(db, root);
  }

  close(): void {
    this.db.close();
  }

  /** A prepared statement, cached by its SQL. */
  statement(sql: string): BetterSqlite3.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /** Runs `fn` in one transaction (an import's batch, a month's scan). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  has(list: string, messageId: string): boolean {
    return (
      this.statement('SELECT 1 FROM posts WHERE list = ? AND message_id = ?').get(
        list,
        messageId,
      ) !== undefined
    );
  }

  post(list: string, messageId: string): ArchivedPost | undefined {
    const row = this.statement('SELECT * FROM posts WHERE list = ? AND message_id = ?').get(
      list,
      messageId,
    ) as Row | undefined;
    return row && toPost(row);
  }

  /** The thread a new post joins (see thread.ts), and the provisional roots it merges. */
  private threadFor(list: string, meta: PostMeta, date: number): string {
    for (let i = meta.refs.length - 1; i >= 0; i--) {
      const found = this.statement(
        'SELECT thread_id FROM posts WHERE list = ? AND message_id = ?',
      ).get(list, meta.refs[i]) as { thread_id: string } | undefined;
      if (found) return found.thread_id;
    }
    if (meta.refs.length > 0) return meta.refs[0]!;
    if (isReplySubject(meta.subject)) {
      const key = subjectKey(meta.subject);
      const earlier = this.statement(
        'SELECT thread_id FROM posts WHERE list = ? AND subject_key = ? AND date BETWEEN ? AND ? ORDER BY date DESC LIMIT 1',
      ).get(list, key, date - SUBJECT_WINDOW_MS, date) as { thread_id: string } | undefined;
      if (key && earlier) return earlier.thread_id;
    }
    return meta.messageId;
  }

  /**
   * Adds a post (nothing when the list already has its Message-ID). `date` is the post's
   * date as the archive files it. Posts that arrived before their ancestor and took it, or
   * the post itself, as their thread's root are moved into the thread found now.
   */
  add(list: string, meta: PostMeta, text: PostText, date: number, where: Location): AddResult {
    const existing = this.statement(
      'SELECT id, thread_id FROM posts WHERE list = ? AND message_id = ?',
    ).get(list, meta.messageId) as { id: number; thread_id: string } | undefined;
    if (existing) return { added: false, id: existing.id, threadId: existing.thread_id };
    const threadId = this.threadFor(list, meta, date);
    const info = this.statement(
      `INSERT INTO posts (list, message_id, thread_id, refs, subject_key, reply, date, month,
        from_name, from_addr, subject, size, file, offset, length, attachments)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      list,
      meta.messageId,
      threadId,
      meta.refs.join(' '),
      subjectKey(meta.subject),
      isReplySubject(meta.subject) ? 1 : 0,
      date,
      new Date(date).toISOString().slice(0, 7),
      meta.fromName,
      meta.fromAddr,
      meta.subject,
      meta.size,
      where.file,
      where.offset,
      where.length,
      text.attachments.length,
    );
    const id = Number(info.lastInsertRowid);
    this.statement(
      'INSERT INTO texts (rowid, subject, author, body, quoted) VALUES (?, ?, ?, ?, ?)',
    ).run(
      id,
      indexText(meta.subject),
      indexText(`${meta.fromName} ${meta.fromAddr}`),
      indexText(text.own),
      indexText(text.quoted),
    );
    const merged = [meta.messageId, ...meta.refs].filter((r) => r !== threadId);
    for (const old of merged)
      this.statement('UPDATE posts SET thread_id = ? WHERE list = ? AND thread_id = ?').run(
        threadId,
        list,
        old,
      );
    return { added: true, id, threadId };
  }

  /** Bytes of a source file already indexed (an mbox), or 0. */
  scanned(path: string): number {
    const row = this.statement('SELECT scanned FROM sources WHERE path = ?').get(path) as
      | { scanned: number }
      | undefined;
    return row?.scanned ?? 0;
  }

  setScanned(path: string, bytes: number): void {
    this.statement('INSERT OR REPLACE INTO sources (path, scanned) VALUES (?, ?)').run(path, bytes);
  }

  /** The source paths under `prefix` already indexed (a maildir month's files). */
  sourcesUnder(prefix: string): Set<string> {
    const rows = this.statement('SELECT path FROM sources WHERE path >= ? AND path < ?').all(
      prefix,
      `${prefix}\uffff`,
    ) as { path: string }[];
    return new Set(rows.map((r) => r.path));
  }

  /** Forgets every post stored in `file`, and the file (it shrank or changed under us). */
  forgetFile(file: string): void {
    this.transaction(() => {
      this.statement('DELETE FROM texts WHERE rowid IN (SELECT id FROM posts WHERE file = ?)').run(
        file,
      );
      this.statement('DELETE FROM posts WHERE file = ?').run(file);
      this.statement('DELETE FROM sources WHERE path = ?').run(file);
    });
  }

  /** Forgets a list entirely (before a reindex from its files). */
  forgetList(list: string, dirPrefix: string): void {
    this.transaction(() => {
      this.statement('DELETE FROM texts WHERE rowid IN (SELECT id FROM posts WHERE list = ?)').run(
        list,
      );
      this.statement('DELETE FROM posts WHERE list = ?').run(list);
      this.statement('DELETE FROM sources WHERE path >= ? AND path < ?').run(
        dirPrefix,
        `${dirPrefix}\uffff`,
      );
    });
  }

  /** The lists the index holds posts of. */
  lists(): string[] {
    return (
      this.statement('SELECT DISTINCT list FROM posts ORDER BY list').all() as { list: string }[]
    ).map((r) => r.list);
  }

  count(list?: string): number {
    const row = (
      list === undefined
        ? this.statement('SELECT count(*) AS n FROM posts').get()
        : this.statement('SELECT count(*) AS n FROM posts WHERE list = ?').get(list)
    ) as { n: number };
    return row.n;
  }
}
