/**
 * The archive on PostgreSQL (`storage: {type: postgres}`): one row per post in
 * `malist_archive` — its list, Message-ID (unique per list), thread, references, date and
 * month, author, subject, the bytes as archived (bytea) and the words extracted from them —
 * so every host sharing the database archives into one archive, and every host's web
 * archive, feed, downloads and `malist archive search/export` read the same posts. A post
 * two hosts both distribute is one row: the second insert finds the Message-ID and adds
 * nothing (`ON CONFLICT DO NOTHING`), no error.
 *
 * Search: a generated `tsvector` column over subject (weight A), author (B), the post's own
 * words (C) and quoted text (D), with a GIN index. The text search configuration is
 * `simple` (lower-casing, no stemming, no stop words), not `english`: lists are written in
 * every language, and the files' FTS5 index does not stem either, so a query finds the same
 * posts on both backends (`english` would find "running" for "run", and drop "the" and
 * "who" from phrases). Before the parser sees it, text goes through
 * `malist_archive_words()`: ASCII punctuation made spaces (an address or a URL is words, as
 * FTS5's unicode61 splits it), common Latin accents taken off both cases (`remove_diacritics`;
 * no unaccent extension needed, which wants a superuser) and CJK characters spaced (each
 * a word, as db.ts `indexText` does). The query is parsed once by search.ts `parseQuery`
 * and each term mapped: a word or `"phrase"` to `phraseto_tsquery`, `prefix*` to `:*`,
 * `-word` to `!!`, `subject:` to the A weight, `from:`/`list:`/`after:`/`before:` to the
 * same SQL conditions as SQLite; hits are ranked by `ts_rank` with the FTS5 column weights
 * (8 : 3 : 1 : 0.2, scaled), then by date, within the newest RANK_WINDOW matches, and counted
 * to COUNT_CAP, as the files do. Snippets are `ts_headline` marks over the post's own words.
 * The GIN index has `fastupdate` off: a post's words go into the index as it is added, not
 * into a pending list that every search then reads through until a vacuum merges it (which
 * made the planner scan the whole table for a rare word: 40 ms against 6 ms a search at
 * 5,000 posts, bench/pg-archive.ts). Posts are added a few a second at most; imports and
 * migrations in batches of 500.
 *
 * The schema part `archive` is versioned like every store's (state/pg.ts).
 */
import { mboxRecord } from '../mail/mbox.ts';
import type { Database, SchemaPart, Sql } from '../state/pg.ts';
import { requireSchema } from '../state/pg.ts';
import type { MonthCount, MonthPage } from './browse.ts';
import type { ArchivedPost } from './db.ts';
import { extractPost, type PostMeta, type PostText } from './extract.ts';
import {
  CLOSE,
  COUNT_CAP,
  filters,
  OPEN,
  parseQuery,
  RANK_WINDOW,
  type SearchOptions,
  type SearchResult,
  snippetParts,
  type Term,
  WEIGHTS,
} from './search.ts';
import type { ArchiveStore, MonthRange } from './store.ts';
import { filingDate } from './sync.ts';
import { isReplySubject, SUBJECT_WINDOW_MS, subjectKey } from './thread.ts';

const ACCENTED = 'àáâãäåāăąçćčďèéêëēėęěìíîïīįñńňòóôõöøōőùúûüūůűųýÿźżžśšşţťŕřľĺłðþ';
const PLAIN = 'aaaaaaaaacccdeeeeeeeeiiiiiinnnoooooooouuuuuuuuyyzzzsssttrrllldt';
/** Accented letters of both cases and the plain lower-case letters they become. */
const [FROM, TO] = [...ACCENTED].reduce(
  ([from, to], c, i) => {
    const upper = c.toUpperCase();
    const plain = PLAIN[i]!;
    return upper.length === 1 && upper !== c
      ? [from + c + upper, to + plain + plain]
      : [from + c, to + plain];
  },
  ['', ''],
);

export const ARCHIVE_SCHEMA: SchemaPart = {
  name: 'archive',
  migrations: [
    `CREATE FUNCTION malist_archive_words(t text) RETURNS text
       LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT
       regexp_replace(
         regexp_replace(
           translate(lower(t), '${FROM}', '${TO}'),
           '[!-/:-@[-\`{-~]+', ' ', 'g'),
         '([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff])', ' \\1 ', 'g') $$;
     CREATE TABLE malist_archive (
       id bigserial PRIMARY KEY,
       list text NOT NULL,
       message_id text NOT NULL,
       thread_id text NOT NULL,
       refs text[] NOT NULL,
       subject_key text NOT NULL,
       reply boolean NOT NULL,
       date bigint NOT NULL,
       month text NOT NULL,
       from_name text NOT NULL,
       from_addr text NOT NULL,
       subject text NOT NULL,
       size integer NOT NULL,
       attachments integer NOT NULL,
       raw bytea NOT NULL,
       text_own text NOT NULL,
       text_quoted text NOT NULL,
       archived_at timestamptz NOT NULL DEFAULT now(),
       words tsvector GENERATED ALWAYS AS (
         setweight(to_tsvector('simple'::regconfig, malist_archive_words(subject)), 'A') ||
         setweight(to_tsvector('simple'::regconfig, malist_archive_words(from_name || ' ' || from_addr)), 'B') ||
         setweight(to_tsvector('simple'::regconfig, malist_archive_words(text_own)), 'C') ||
         setweight(to_tsvector('simple'::regconfig, malist_archive_words(text_quoted)), 'D')
       ) STORED,
       UNIQUE (list, message_id)
     );
     CREATE INDEX malist_archive_thread ON malist_archive (list, thread_id, date);
     CREATE INDEX malist_archive_month ON malist_archive (list, month, date);
     CREATE INDEX malist_archive_subject ON malist_archive (list, subject_key, date);
     CREATE INDEX malist_archive_from ON malist_archive (from_addr);
     CREATE INDEX malist_archive_words_gin ON malist_archive USING gin (words)
       WITH (fastupdate = off);`,
  ],
};

/** The columns a post is listed with (not its bytes nor its words). */
const COLUMNS = `id, list, message_id, thread_id, refs, date, month, from_name, from_addr, subject,
  size, attachments`;

interface Row {
  id: number;
  list: string;
  message_id: string;
  thread_id: string;
  refs: string[];
  date: number;
  month: string;
  from_name: string;
  from_addr: string;
  subject: string;
  size: number;
  attachments: number;
}

function toPost(row: Row): ArchivedPost {
  return {
    id: row.id,
    list: row.list,
    messageId: row.message_id,
    threadId: row.thread_id,
    refs: row.refs,
    date: row.date,
    month: row.month,
    fromName: row.from_name,
    fromAddr: row.from_addr,
    subject: row.subject,
    size: row.size,
    // Where the bytes are: this row (`malist trace` shows it).
    file: 'postgres:malist_archive',
    offset: -1,
    length: row.size,
    attachments: row.attachments,
  };
}

/** `?` placeholders (search.ts `filters`) as `$n` from `start`; LIKE without case, as SQLite's. */
function numbered(sql: string, start: number): string {
  let n = start;
  return sql.replace(/\?/g, () => `$${n++}`).replace(/ LIKE /g, ' ILIKE ');
}

/** The thread a new post joins: as db.ts `threadFor`, in the transaction adding it. */
async function threadFor(sql: Sql, list: string, meta: PostMeta, date: number): Promise<string> {
  if (meta.refs.length > 0) {
    const found = await sql.query<{ message_id: string; thread_id: string }>(
      'SELECT message_id, thread_id FROM malist_archive WHERE list = $1 AND message_id = ANY($2)',
      [list, meta.refs],
    );
    const by = new Map(found.map((r) => [r.message_id, r.thread_id]));
    for (let i = meta.refs.length - 1; i >= 0; i--) {
      const thread = by.get(meta.refs[i]!);
      if (thread) return thread;
    }
    return meta.refs[0]!;
  }
  if (isReplySubject(meta.subject)) {
    const key = subjectKey(meta.subject);
    const earlier = await sql.query<{ thread_id: string }>(
      `SELECT thread_id FROM malist_archive WHERE list = $1 AND subject_key = $2
       AND date BETWEEN $3 AND $4 ORDER BY date DESC LIMIT 1`,
      [list, key, date - SUBJECT_WINDOW_MS, date],
    );
    if (key && earlier[0]) return earlier[0].thread_id;
  }
  return meta.messageId;
}

/** A term as a tsquery expression over parameter `$n` (its text). */
function tsquery(term: Term, n: number): string {
  const words = `malist_archive_words($${n})`;
  if (!term.prefix && !term.subject) return `phraseto_tsquery('simple', ${words})`;
  // The words as to_tsquery lexemes, each quoted and followed by each one's label: weight A
  // for `subject:`, the last one a prefix for `word*`.
  const weight = term.subject ? 'A' : '';
  const last = `${weight}${term.prefix ? '*' : ''}`;
  const label = (l: string) => (l ? `':${l}'` : "''");
  return `to_tsquery('simple', array_to_string(ARRAY(
      SELECT quote_literal(w) || CASE WHEN o = max(o) OVER () THEN ${label(last)} ELSE ${label(weight)} END
      FROM regexp_split_to_table(btrim(${words}), '\\s+') WITH ORDINALITY AS s(w, o) WHERE w <> ''
      ORDER BY o), ' <-> '))`;
}

/** Inserts one post in the transaction `sql`: false when the list holds its Message-ID. */
async function insertPost(
  sql: Sql,
  list: string,
  { meta, text, bytes, date }: { meta: PostMeta; text: PostText; bytes: Buffer; date: number },
): Promise<boolean> {
  const there = await sql.query(
    'SELECT 1 FROM malist_archive WHERE list = $1 AND message_id = $2',
    [list, meta.messageId],
  );
  if (there.length > 0) return false;
  const threadId = await threadFor(sql, list, meta, date);
  const rows = await sql.query(
    `INSERT INTO malist_archive (list, message_id, thread_id, refs, subject_key, reply, date,
       month, from_name, from_addr, subject, size, attachments, raw, text_own, text_quoted)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
     ON CONFLICT (list, message_id) DO NOTHING RETURNING id`,
    [
      list,
      meta.messageId,
      threadId,
      meta.refs,
      subjectKey(meta.subject),
      isReplySubject(meta.subject),
      date,
      new Date(date).toISOString().slice(0, 7),
      meta.fromName,
      meta.fromAddr,
      meta.subject,
      bytes.length,
      text.attachments.length,
      bytes,
      clean(text.own),
      clean(text.quoted),
    ],
  );
  if (rows.length === 0) return false;
  // Posts that took this one, or one of its references, as their thread's root move in.
  const merged = [meta.messageId, ...meta.refs].filter((r) => r !== threadId);
  if (merged.length > 0)
    await sql.query(
      'UPDATE malist_archive SET thread_id = $1 WHERE list = $2 AND thread_id = ANY($3)',
      [threadId, list, merged],
    );
  return true;
}

export class PgArchive implements ArchiveStore {
  readonly kind = 'postgres';
  readonly where: string;
  private ready: Promise<Database> | undefined;

  /** The archive on the pool `db` resolves to; its table is checked (or created) on first use. */
  constructor(
    private readonly pool: Promise<Database>,
    label = 'PostgreSQL',
  ) {
    this.where = label;
  }

  private db(): Promise<Database> {
    this.ready ??= this.pool.then(async (db) => {
      await requireSchema(db, ARCHIVE_SCHEMA);
      return db;
    });
    this.ready.catch(() => {
      this.ready = undefined;
    });
    return this.ready;
  }

  private async select(sql: string, params: unknown[]): Promise<ArchivedPost[]> {
    return (await (await this.db()).query<Row>(sql, params)).map(toPost);
  }

  async add(list: string, bytes: Buffer, archivedAt: number) {
    const [one] = await this.addMany(list, [{ bytes, archivedAt }]);
    return one!;
  }

  /**
   * Adds posts in one transaction (an import's or a migration's batch: one commit, not one
   * a post), each unless the list holds its Message-ID.
   */
  async addMany(
    list: string,
    posts: readonly { bytes: Buffer; archivedAt: number }[],
  ): Promise<{ added: boolean; messageId: string }[]> {
    const db = await this.db();
    return db.transaction(async (sql) => {
      const out: { added: boolean; messageId: string }[] = [];
      for (const { bytes, archivedAt } of posts) {
        const { meta, text } = extractPost(bytes);
        const date = filingDate(meta.date, archivedAt);
        const added = await insertPost(sql, list, { meta, text, bytes, date });
        out.push({ added, messageId: meta.messageId });
      }
      return out;
    });
  }

  async post(list: string, messageId: string) {
    const [post] = await this.select(
      `SELECT ${COLUMNS} FROM malist_archive WHERE list = $1 AND message_id = $2`,
      [list, messageId],
    );
    return post;
  }

  async read(post: ArchivedPost): Promise<Buffer> {
    const rows = await (await this.db()).query<{ raw: Buffer }>(
      'SELECT raw FROM malist_archive WHERE id = $1',
      [post.id],
    );
    if (!rows[0])
      throw new Error(`the archive in ${this.where} no longer holds <${post.messageId}>`);
    return rows[0].raw;
  }

  async lists() {
    const rows = await (await this.db()).query<{ list: string }>(
      'SELECT DISTINCT list FROM malist_archive ORDER BY list',
    );
    return rows.map((r) => r.list);
  }

  async count(list?: string) {
    const rows = await (await this.db()).query<{ n: number }>(
      list === undefined
        ? 'SELECT count(*)::int AS n FROM malist_archive'
        : 'SELECT count(*)::int AS n FROM malist_archive WHERE list = $1',
      list === undefined ? [] : [list],
    );
    return rows[0]?.n ?? 0;
  }

  async months(list: string): Promise<MonthCount[]> {
    return (await this.db()).query<MonthCount>(
      `SELECT month, count(*)::int AS posts, count(DISTINCT thread_id)::int AS threads
       FROM malist_archive WHERE list = $1 GROUP BY month ORDER BY month DESC`,
      [list],
    );
  }

  async monthThreads(
    list: string,
    month: string,
    page: { limit?: number; offset?: number } = {},
  ): Promise<MonthPage> {
    const db = await this.db();
    const [totals] = await db.query<{ posts: number; threads: number }>(
      `SELECT count(*)::int AS posts, count(DISTINCT thread_id)::int AS threads
       FROM malist_archive WHERE list = $1 AND month = $2`,
      [list, month],
    );
    const groups = await db.query<{ thread_id: string; n: number; first: number; last: number }>(
      `SELECT thread_id, count(*)::int AS n, min(date) AS first, max(date) AS last
       FROM malist_archive WHERE list = $1 AND month = $2 GROUP BY thread_id
       ORDER BY last DESC, thread_id LIMIT $3 OFFSET $4`,
      [list, month, page.limit ?? 1_000_000, page.offset ?? 0],
    );
    const ids = groups.map((g) => g.thread_id);
    const starters = new Map(
      (
        await db.query<Row & { total: number }>(
          `SELECT DISTINCT ON (thread_id) ${COLUMNS},
             count(*) OVER (PARTITION BY thread_id)::int AS total
           FROM malist_archive WHERE list = $1 AND thread_id = ANY($2)
           ORDER BY thread_id, date, id`,
          [list, ids],
        )
      ).map((r) => [r.thread_id, r]),
    );
    const items = groups.map((g) => {
      const starter = starters.get(g.thread_id)!;
      return {
        threadId: g.thread_id,
        starter: toPost(starter),
        inMonth: g.n,
        total: starter.total,
        first: g.first,
        last: g.last,
      };
    });
    return { month, posts: totals?.posts ?? 0, threads: totals?.threads ?? 0, items };
  }

  threadPosts(list: string, threadId: string) {
    return this.select(
      `SELECT ${COLUMNS} FROM malist_archive WHERE list = $1 AND thread_id = $2 ORDER BY date, id`,
      [list, threadId],
    );
  }

  monthPosts(list: string, month: string) {
    return this.select(
      `SELECT ${COLUMNS} FROM malist_archive WHERE list = $1 AND month = $2 ORDER BY date, id`,
      [list, month],
    );
  }

  latestPosts(list: string, limit = 30) {
    return this.select(
      `SELECT ${COLUMNS} FROM malist_archive WHERE list = $1 ORDER BY date DESC, id DESC LIMIT $2`,
      [list, limit],
    );
  }

  async neighbours(post: ArchivedPost) {
    const [previous] = await this.select(
      `SELECT ${COLUMNS} FROM malist_archive WHERE list = $1 AND (date, id) < ($2, $3)
       ORDER BY date DESC, id DESC LIMIT 1`,
      [post.list, post.date, post.id],
    );
    const [next] = await this.select(
      `SELECT ${COLUMNS} FROM malist_archive WHERE list = $1 AND (date, id) > ($2, $3)
       ORDER BY date, id LIMIT 1`,
      [post.list, post.date, post.id],
    );
    return { ...(previous ? { previous } : {}), ...(next ? { next } : {}) };
  }

  async search(options: SearchOptions): Promise<SearchResult> {
    const parsed = parseQuery(options.q ?? '');
    const f = filters(options, parsed);
    const where = f.where.map((w) => w.replace(/\bposts\./g, 'p.'));
    const limit = Math.max(1, Math.min(options.limit ?? 20, 200));
    const offset = Math.max(0, options.offset ?? 0);
    const db = await this.db();
    const positive = parsed.terms.filter((t) => !t.negated);
    if (positive.length === 0) {
      const clause = where.length ? `WHERE ${numbered(where.join(' AND '), 1)}` : '';
      const [total] = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM malist_archive p ${clause}`,
        f.params,
      );
      const n = f.params.length;
      const rows = await db.query<Row>(
        `SELECT ${COLUMNS} FROM malist_archive p ${clause}
         ORDER BY date DESC, id DESC LIMIT $${n + 1} OFFSET $${n + 2}`,
        [...f.params, limit, offset],
      );
      return {
        total: total?.n ?? 0,
        hits: rows.map((r) => ({ post: toPost(r), snippet: [] })),
        expression: '',
      };
    }
    // Each term's text ($1 …), then the filters' parameters.
    const texts = parsed.terms.map((t) => t.text);
    const queries = parsed.terms.map((t, i) => ({ term: t, sql: tsquery(t, i + 1) }));
    const must = queries
      .filter((q) => !q.term.negated)
      .map((q) => q.sql)
      .join(' && ');
    const mustNot = queries.filter((q) => q.term.negated).map((q) => `NOT (p.words @@ ${q.sql})`);
    const conditions = [
      'p.words @@ (' + must + ')',
      ...mustNot,
      ...(where.length ? [numbered(where.join(' AND '), texts.length + 1)] : []),
    ].join(' AND ');
    const params: unknown[] = [...texts, ...f.params];
    const at = params.length;
    const window = Math.max(RANK_WINDOW, offset + limit);
    const newest = await db.query<{ id: number }>(
      `SELECT p.id FROM malist_archive p WHERE ${conditions} ORDER BY p.id DESC LIMIT $${at + 1}`,
      [...params, Math.max(COUNT_CAP + 1, window)],
    );
    const counted = newest.length;
    const floor =
      options.sort !== 'date' && counted > COUNT_CAP ? (newest[window - 1]?.id ?? 0) : 0;
    const scale = WEIGHTS[0]!;
    // ts_rank's weights are {D, C, B, A}.
    const weights = `'{${[...WEIGHTS]
      .reverse()
      .map((w) => w / scale)
      .join(', ')}}'::float4[]`;
    const order =
      options.sort === 'date'
        ? 'p.date DESC, p.id DESC'
        : `ts_rank(${weights}, p.words, (${must})) DESC, p.date DESC`;
    // The page's rows ranked first, then a snippet for each of them only.
    const rows = await db.query<Row & { marked: string }>(
      `SELECT ${COLUMNS.replace(/(\w+)/g, 'p.$1')},
         ts_headline('simple', p.text_own, (${must}),
           'StartSel=${OPEN}, StopSel=${CLOSE}, MaxWords=24, MinWords=8, ShortWord=1, MaxFragments=1, FragmentDelimiter=" … "') AS marked
       FROM (SELECT p.id, row_number() OVER (ORDER BY ${order}) AS n
             FROM malist_archive p WHERE ${conditions} AND p.id >= $${at + 1}
             ORDER BY ${order} LIMIT $${at + 2} OFFSET $${at + 3}) page
       JOIN malist_archive p ON p.id = page.id ORDER BY page.n`,
      [...params, floor, limit, offset],
    );
    return {
      total: Math.min(counted, COUNT_CAP),
      ...(counted > COUNT_CAP ? { more: true } : {}),
      hits: rows.map((r) => ({ post: toPost(r), snippet: snippetParts(r.marked ?? '') })),
      expression: must,
    };
  }

  async *export(list: string, range: MonthRange = {}): AsyncGenerator<Buffer> {
    const db = await this.db();
    const months = (await this.months(list))
      .map((m) => m.month)
      .filter((m) => (!range.from || m >= range.from) && (!range.to || m <= range.to))
      .reverse();
    for (const month of months) {
      const rows = await db.query<{ raw: Buffer; from_addr: string; date: number }>(
        'SELECT raw, from_addr, date FROM malist_archive WHERE list = $1 AND month = $2 ORDER BY date, id',
        [list, month],
      );
      for (const r of rows) yield mboxRecord(r.raw, r.from_addr, new Date(r.date));
    }
  }

  /** The pool is the process's (closed with the others): nothing to close here. */
  async close() {}
}

/** Text PostgreSQL takes (no NUL characters, which a text column refuses). */
function clean(text: string): string {
  return text.includes('\u0000') ? text.replace(/\u0000/g, ' ') : text;
}
