/**
 * Full-text search over the archive, for the pages, the API and `malist archive search`.
 * A query is words (all must match), `"phrases"`, `prefix*`, `-excluded` words, and the
 * operators `from:`, `list:`, `subject:`, `after:` and `before:` (the same filters can be
 * given as options). Words are matched without case or accents (`unicode61
 * remove_diacritics`), CJK text character by character; hits are ranked by BM25 with the
 * subject weighing most and quoted text and signatures least, or by date, each with a
 * snippet whose matches are marked.
 *
 * The user's words never reach FTS5's query syntax as syntax: each becomes a quoted string.
 */
import { type ArchivedPost, type ArchiveIndex, indexText, toPost } from './db.ts';

export interface SearchOptions {
  /** The query (words, "phrases", prefix*, -not, from:, list:, subject:, after:, before:). */
  q?: string;
  /** Only these lists (what the reader may see); every list when unset. */
  lists?: readonly string[];
  /** An address (exact) or part of a name or address. */
  from?: string;
  /** Posts dated at or after this (a Date, ms, or YYYY-MM[-DD]). */
  after?: Date | number | string;
  /** Posts dated before the end of this day or month (a Date, ms, or YYYY-MM[-DD]). */
  before?: Date | number | string;
  /** @default 'relevance' (date when the query has no words) */
  sort?: 'relevance' | 'date';
  /** @default 20 */
  limit?: number;
  /** @default 0 */
  offset?: number;
}

export interface SnippetPart {
  text: string;
  /** True for the words that matched. */
  match: boolean;
}

export interface SearchHit {
  post: ArchivedPost;
  snippet: SnippetPart[];
}

export interface SearchResult {
  /** Posts found, counted up to COUNT_CAP. */
  total: number;
  /** True when there are more than `total` (a word in very many posts). */
  more?: boolean;
  hits: SearchHit[];
  /** The FTS5 expression run (for the curious, and the tests). */
  expression: string;
}

/** Weights of subject, author, own text, quoted text (FTS5 column order). */
export const WEIGHTS = [8, 3, 1, 0.2];
/** Most posts a search counts (a page says "1,000 or more"). */
export const COUNT_CAP = 1_000;
/** How many of the newest matches relevance ranks (see `search`). */
export const RANK_WINDOW = 1_000;
export const OPEN = '\u0002';
export const CLOSE = '\u0003';

/** A word, phrase or prefix of a query, as the user wrote it (for a backend's own syntax). */
export interface Term {
  /** The words (a phrase when more than one), without quotes or the prefix star. */
  text: string;
  prefix: boolean;
  negated: boolean;
  /** Only in the subject (`subject:`). */
  subject: boolean;
}

export interface Parsed {
  /** FTS5 expressions that must match. */
  positive: string[];
  /** FTS5 expressions that must not. */
  negative: string[];
  /** The same, as terms. */
  terms: Term[];
  from?: string;
  lists: string[];
  after?: string;
  before?: string;
}

function quoted(text: string): string | undefined {
  const spaced = indexText(text.normalize('NFC'));
  if (!/[\p{L}\p{N}]/u.test(spaced)) return undefined;
  return `"${spaced.replace(/"/g, '""')}"`;
}

/** Splits a query into FTS5 terms and filters. Pure. */
export function parseQuery(q: string): Parsed {
  const out: Parsed = { positive: [], negative: [], terms: [], lists: [] };
  const tokens = q.match(/-?(?:[a-z]+:)?(?:"[^"]*"?|\S+)/gi) ?? [];
  for (const token of tokens) {
    const negated = token.startsWith('-') && token.length > 1;
    const body = negated ? token.slice(1) : token;
    const op = /^([a-z]+):(.+)$/i.exec(body);
    const key = op?.[1]?.toLowerCase();
    const value = (op ? op[2]! : body).replace(/^"|"$/g, '');
    if (key === 'from') out.from = value;
    else if (key === 'list') out.lists.push(value);
    else if (key === 'after' || key === 'since') out.after = value;
    else if (key === 'before' || key === 'until') out.before = value;
    else {
      const prefix = value.endsWith('*') && !op?.[2]?.startsWith('"');
      const term = quoted(prefix ? value.slice(0, -1) : value);
      if (!term) continue;
      const column = key === 'subject' ? 'subject : ' : '';
      (negated ? out.negative : out.positive).push(`${column}${term}${prefix ? '*' : ''}`);
      const text = (prefix ? value.slice(0, -1) : value).normalize('NFC');
      out.terms.push({ text, prefix, negated, subject: key === 'subject' });
    }
  }
  return out;
}

/** ms for a date bound: the start of it (`end`: the start of the next day or month). */
export function dateBound(value: Date | number | string, end = false): number | undefined {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'number') return value;
  const m = /^(\d{4})-(\d{2})(?:-(\d{2}))?$/.exec(value.trim());
  if (!m) {
    const parsed = Date.parse(value);
    return Number.isNaN(parsed) ? undefined : parsed;
  }
  const [y, mo, d] = [Number(m[1]), Number(m[2]) - 1, m[3] ? Number(m[3]) : undefined];
  if (d === undefined) return Date.UTC(y, end ? mo + 1 : mo, 1);
  return Date.UTC(y, mo, end ? d + 1 : d);
}

/** The snippet FTS5 marked, as parts; CJK spacing taken out again. */
export function snippetParts(marked: string): SnippetPart[] {
  const text = marked.replace(
    /([\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]) (?=[\u0002\u0003]?[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}])/gu,
    '$1',
  );
  const parts: SnippetPart[] = [];
  for (const piece of text.split(/(\u0002[^\u0003]*\u0003)/)) {
    if (!piece) continue;
    const match = piece.startsWith(OPEN);
    parts.push({ text: match ? piece.slice(1, -1) : piece, match });
  }
  return parts;
}

export interface Filters {
  /** SQL conditions on `posts` (its SQLite column names), `?` for each parameter. */
  where: string[];
  params: unknown[];
}

/** The conditions a query's filters and the options put on the posts. */
export function filters(options: SearchOptions, parsed: Parsed): Filters {
  const where: string[] = [];
  const params: unknown[] = [];
  const lists = parsed.lists.length
    ? parsed.lists.filter((l) => !options.lists || options.lists.includes(l))
    : options.lists;
  if (lists) {
    where.push(`posts.list IN (${lists.map(() => '?').join(', ') || 'NULL'})`);
    params.push(...lists);
  }
  const from = parsed.from ?? options.from;
  if (from) {
    if (/^[^\s@]+@[^\s@]+$/.test(from)) {
      where.push('posts.from_addr = ?');
      params.push(from.toLowerCase());
    } else {
      where.push("(posts.from_name LIKE ? ESCAPE '\\' OR posts.from_addr LIKE ? ESCAPE '\\')");
      const like = `%${from.replace(/[\\%_]/g, '\\$&')}%`;
      params.push(like, like);
    }
  }
  const after = parsed.after ?? options.after;
  const afterMs = after === undefined ? undefined : dateBound(after);
  if (afterMs !== undefined) {
    where.push('posts.date >= ?');
    params.push(afterMs);
  }
  const before = parsed.before ?? options.before;
  const beforeMs = before === undefined ? undefined : dateBound(before, true);
  if (beforeMs !== undefined) {
    where.push('posts.date < ?');
    params.push(beforeMs);
  }
  return { where, params };
}

/** Searches the archive (see the head of this file for the query language). */
export function search(index: ArchiveIndex, options: SearchOptions): SearchResult {
  const parsed = parseQuery(options.q ?? '');
  const { where, params } = filters(options, parsed);
  const limit = Math.max(1, Math.min(options.limit ?? 20, 200));
  const offset = Math.max(0, options.offset ?? 0);
  if (parsed.positive.length === 0) {
    // Filters alone (from:alice): the posts they select, newest first.
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = (
      index.statement(`SELECT count(*) AS n FROM posts ${clause}`).get(...params) as { n: number }
    ).n;
    const rows = index
      .statement(`SELECT * FROM posts ${clause} ORDER BY date DESC, id DESC LIMIT ? OFFSET ?`)
      .all(...params, limit, offset) as Parameters<typeof toPost>[0][];
    return { total, hits: rows.map((r) => ({ post: toPost(r), snippet: [] })), expression: '' };
  }
  const expression =
    parsed.positive.join(' AND ') + parsed.negative.map((n) => ` NOT ${n}`).join('');
  const clause = ['texts MATCH ?', ...where].join(' AND ');
  const join = 'FROM texts JOIN posts ON posts.id = texts.rowid';
  // One walk of the matches, newest first, gives both the count (to COUNT_CAP) and, for a
  // word in very many posts, where relevance starts: it ranks the newest RANK_WINDOW
  // matches (as far as the page asked) instead of scoring and sorting every one of them.
  // (A snippet in the ranking query costs nothing extra: SQLite makes it for the rows the
  // LIMIT keeps only; made in a query of its own per row, a prefix* is expanded 20 times.)
  const window = Math.max(RANK_WINDOW, offset + limit);
  const newest = index
    .statement(`SELECT texts.rowid AS id ${join} WHERE ${clause} ORDER BY texts.rowid DESC LIMIT ?`)
    .all(expression, ...params, Math.max(COUNT_CAP + 1, window)) as { id: number }[];
  const counted = newest.length;
  const floor = options.sort !== 'date' && counted > COUNT_CAP ? (newest[window - 1]?.id ?? 0) : 0;
  const order =
    options.sort === 'date'
      ? 'posts.date DESC, posts.id DESC'
      : `bm25(texts, ${WEIGHTS.join(', ')}), posts.date DESC`;
  const rows = index
    .statement(
      `SELECT posts.*, snippet(texts, -1, '${OPEN}', '${CLOSE}', '…', 24) AS marked ${join}
       WHERE ${clause} AND texts.rowid >= ? ORDER BY ${order} LIMIT ? OFFSET ?`,
    )
    .all(expression, ...params, floor, limit, offset) as (Parameters<typeof toPost>[0] & {
    marked: string;
  })[];
  return {
    total: Math.min(counted, COUNT_CAP),
    ...(counted > COUNT_CAP ? { more: true } : {}),
    hits: rows.map((r) => ({ post: toPost(r), snippet: snippetParts(r.marked) })),
    expression,
  };
}
