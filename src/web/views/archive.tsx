/**
 * The archive pages: a list's months, a month's threads collapsed, a thread nested, one
 * post, and search. Server-rendered, no script. Everything from the mail is text escaped by
 * hono/jsx; an HTML-only part, already sanitised, is shown only inside a sandboxed iframe
 * (no scripts, no same origin, its own CSP) through `srcdoc`, with its text beside it.
 */
import type { FC } from 'hono/jsx';
import type { MonthCount, ThreadSummary } from '../../archive/browse.ts';
import type { ArchivedPost } from '../../archive/db.ts';
import type { ShownAttachment, ShownPart, ShownPost } from '../../archive/message.ts';
import type { TextBlock } from '../../archive/quote.ts';
import { framedDocument, HTML_FRAME_SANDBOX } from '../../archive/sanitize.ts';
import type { SearchResult } from '../../archive/search.ts';

/** How a post's URLs are made (the routes' own, so links and routes cannot drift). */
export interface ArchiveLinks {
  list: (list: string) => string;
  month: (list: string, month: string, page?: number) => string;
  thread: (list: string, threadId: string) => string;
  post: (list: string, messageId: string) => string;
}

export interface ReadableList {
  name: string;
  displayName: string;
  address: string;
  visibility: string;
  posts: number;
  latest?: string;
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const minute = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');

function monthName(month: string): string {
  const [y, m] = month.split('-').map(Number);
  return new Date(Date.UTC(y!, m! - 1, 1)).toLocaleString('en', {
    month: 'long',
    year: 'numeric',
    timeZone: 'UTC',
  });
}

/** The author as shown: the name, and the address only to readers who are signed in. */
export function authorOf(post: ArchivedPost, addresses: boolean): string {
  const name = post.fromName || post.fromAddr.split('@')[0] || 'unknown';
  return addresses && post.fromAddr ? `${name} <${post.fromAddr}>` : name;
}

const size = (bytes: number) =>
  bytes < 1024
    ? `${bytes} B`
    : bytes < 1024 * 1024
      ? `${(bytes / 1024).toFixed(1)} KB`
      : `${(bytes / 1024 / 1024).toFixed(1)} MB`;

export const ArchiveLists: FC<{ lists: ReadableList[]; links: ArchiveLinks }> = (p) =>
  p.lists.length === 0 ? (
    <p>There is no archive here you may read. Members see their lists' archives once signed in.</p>
  ) : (
    <>
      <table>
        <thead>
          <tr>
            <th>List</th>
            <th>Address</th>
            <th class="num">Posts</th>
            <th>Latest month</th>
            <th>Readable by</th>
          </tr>
        </thead>
        <tbody>
          {p.lists.map((l) => (
            <tr>
              <td>
                <a href={p.links.list(l.name)}>{l.displayName}</a>
              </td>
              <td>{l.address}</td>
              <td class="num">{l.posts.toLocaleString('en')}</td>
              <td>{l.latest ?? '—'}</td>
              <td>{l.visibility}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <SearchForm action="/archive/search" lists={p.lists.map((l) => l.name)} values={{}} />
    </>
  );

export interface SearchValues {
  q?: string;
  from?: string;
  after?: string;
  before?: string;
  list?: string;
}

export const SearchForm: FC<{ action: string; lists?: string[]; values: SearchValues }> = (p) => (
  <form method="get" action={p.action} class="archive-search">
    <input
      type="search"
      name="q"
      value={p.values.q ?? ''}
      placeholder="words, &quot;a phrase&quot;, prefix*"
      aria-label="Search the archive"
    />{' '}
    <input
      type="text"
      name="from"
      value={p.values.from ?? ''}
      placeholder="from (name or address)"
      aria-label="From"
    />{' '}
    <label>
      after <input type="date" name="after" value={p.values.after ?? ''} />
    </label>{' '}
    <label>
      before <input type="date" name="before" value={p.values.before ?? ''} />
    </label>{' '}
    {p.lists && p.lists.length > 1 ? (
      <select name="list" aria-label="List">
        <option value="">all lists</option>
        {p.lists.map((l) => (
          <option value={l} selected={p.values.list === l}>
            {l}
          </option>
        ))}
      </select>
    ) : null}{' '}
    <button type="submit">Search</button>
  </form>
);

export const ListArchive: FC<{
  list: string;
  months: MonthCount[];
  links: ArchiveLinks;
  feed: string;
}> = (p) => (
  <>
    <SearchForm action={`${p.links.list(p.list)}search`} values={{}} />
    <p>
      <a href={p.feed}>Atom feed</a> of the latest posts.
    </p>
    {p.months.length === 0 ? (
      <p>Nothing archived yet.</p>
    ) : (
      <table class="months">
        <thead>
          <tr>
            <th>Month</th>
            <th class="num">Threads</th>
            <th class="num">Posts</th>
            <th>Download</th>
          </tr>
        </thead>
        <tbody>
          {p.months.map((m) => (
            <tr>
              <td>
                <a href={p.links.month(p.list, m.month)}>{monthName(m.month)}</a>
              </td>
              <td class="num">{m.threads.toLocaleString('en')}</td>
              <td class="num">{m.posts.toLocaleString('en')}</td>
              <td>
                <a href={`${p.links.list(p.list)}${m.month}.mbox`}>mbox</a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    )}
  </>
);

export const MonthView: FC<{
  list: string;
  month: string;
  posts: number;
  threads: number;
  items: ThreadSummary[];
  page: number;
  pages: number;
  links: ArchiveLinks;
  addresses: boolean;
}> = (p) => (
  <>
    <p>
      {p.posts.toLocaleString('en')} posts in {p.threads.toLocaleString('en')} threads ·{' '}
      <a href={p.links.list(p.list)}>all months</a> ·{' '}
      <a href={`${p.links.list(p.list)}${p.month}.mbox`}>download the month (mbox)</a>
    </p>
    <table class="threads">
      <thead>
        <tr>
          <th>Thread</th>
          <th>Started by</th>
          <th class="num">Posts this month</th>
          <th class="num">In all</th>
          <th>Active</th>
        </tr>
      </thead>
      <tbody>
        {p.items.map((t) => (
          <tr>
            <td>
              <a href={p.links.thread(p.list, t.threadId)}>{t.starter.subject || '(no subject)'}</a>
            </td>
            <td>{authorOf(t.starter, p.addresses)}</td>
            <td class="num">{t.inMonth}</td>
            <td class="num">{t.total}</td>
            <td>
              {day(t.first)}
              {day(t.first) !== day(t.last) ? ` – ${day(t.last)}` : ''}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
    <Pager page={p.page} pages={p.pages} href={(n) => p.links.month(p.list, p.month, n)} />
  </>
);

const Pager: FC<{ page: number; pages: number; href: (page: number) => string }> = (p) =>
  p.pages <= 1 ? null : (
    <p class="pager">
      {p.page > 1 ? <a href={p.href(p.page - 1)}>← newer</a> : null} page {p.page} of {p.pages}{' '}
      {p.page < p.pages ? <a href={p.href(p.page + 1)}>older →</a> : null}
    </p>
  );

const Blocks: FC<{ blocks: TextBlock[] }> = ({ blocks }) => (
  <>
    {blocks.map((b) =>
      b.quoted ? (
        <details class="quoted">
          <summary>quoted text ({b.text.split('\n').length} lines)</summary>
          <pre>{b.text}</pre>
        </details>
      ) : (
        <pre class="post-text">{b.text}</pre>
      ),
    )}
  </>
);

const Parts: FC<{ parts: ShownPart[] }> = ({ parts }) => (
  <>
    {parts.map((part) => {
      if (part.kind === 'text') return <Blocks blocks={part.blocks} />;
      if (part.kind === 'html')
        return (
          <div class="html-part">
            <iframe
              sandbox={HTML_FRAME_SANDBOX}
              srcdoc={framedDocument(part.html)}
              title="The post's HTML, sanitised"
              referrerpolicy="no-referrer"
            />
            <details>
              <summary>as plain text</summary>
              <Blocks blocks={part.text} />
            </details>
          </div>
        );
      return (
        <blockquote class="forwarded">
          <p class="muted">
            Forwarded message · From: {part.from} · Subject: {part.subject} · Date: {part.date}
          </p>
          <Parts parts={part.parts} />
        </blockquote>
      );
    })}
  </>
);

const Attachments: FC<{ items: ShownAttachment[]; base: string }> = (p) =>
  p.items.length === 0 ? null : (
    <ul class="attachments">
      {p.items.map((a) => (
        <li>
          <a href={`${p.base}/a/${a.index}`} download={a.filename}>
            {a.filename}
          </a>{' '}
          <span class="muted">
            {a.type}, {size(a.size)}
          </span>
        </li>
      ))}
    </ul>
  );

export interface ShownArchivedPost {
  post: ArchivedPost;
  /** undefined: the stored bytes could not be read (the error says why). */
  shown?: ShownPost;
  error?: string;
}

/** One post: who, when, its text with quotes folded, its attachments, its links. */
export const PostView: FC<{
  item: ShownArchivedPost;
  links: ArchiveLinks;
  addresses: boolean;
  subject?: boolean;
}> = ({ item, links, addresses, subject }) => {
  const base = links.post(item.post.list, item.post.messageId);
  return (
    <article class="post" id={`p${item.post.id}`}>
      <header class="post-head">
        {subject ? <strong>{item.post.subject || '(no subject)'}</strong> : null}
        <span class="from">{authorOf(item.post, addresses)}</span>{' '}
        <time datetime={new Date(item.post.date).toISOString()}>{minute(item.post.date)} UTC</time>{' '}
        · <a href={base}>permalink</a> · <a href={`${base}/raw`}>raw</a> ·{' '}
        <a href={`${base}/mbox`}>mbox</a>
      </header>
      {item.shown ? (
        <>
          <Parts parts={item.shown.parts} />
          <Attachments items={item.shown.attachments} base={base} />
        </>
      ) : (
        <p class="error">{item.error ?? 'This post cannot be shown.'}</p>
      )}
    </article>
  );
};

export const ThreadView: FC<{
  list: string;
  threadId: string;
  items: Array<ShownArchivedPost & { depth: number }>;
  more: number;
  links: ArchiveLinks;
  addresses: boolean;
}> = (p) => (
  <>
    <p>
      {p.items.length + p.more} posts ·{' '}
      <a href={`${p.links.thread(p.list, p.threadId)}/mbox`}>download the thread (mbox)</a> ·{' '}
      <a href={p.links.month(p.list, p.items[0]!.post.month)}>
        {monthName(p.items[0]!.post.month)}
      </a>
    </p>
    {p.items.map((item) => (
      <div class="nested" data-depth={Math.min(item.depth, 12)}>
        <PostView
          item={item}
          links={p.links}
          addresses={p.addresses}
          subject={item.depth === 0 || undefined}
        />
      </div>
    ))}
    {p.more > 0 ? (
      <p class="notice">
        {p.more} more posts are not shown here: download the thread's mbox for all of them.
      </p>
    ) : null}
  </>
);

export const MessageView: FC<{
  item: ShownArchivedPost;
  thread: Array<{ post: ArchivedPost; depth: number }>;
  previous?: ArchivedPost;
  next?: ArchivedPost;
  links: ArchiveLinks;
  addresses: boolean;
}> = (p) => (
  <>
    <p>
      <a href={p.links.list(p.item.post.list)}>{p.item.post.list} archive</a> ·{' '}
      <a href={p.links.month(p.item.post.list, p.item.post.month)}>
        {monthName(p.item.post.month)}
      </a>{' '}
      · <a href={p.links.thread(p.item.post.list, p.item.post.threadId)}>whole thread</a>
      {p.previous ? (
        <>
          {' '}
          · <a href={p.links.post(p.previous.list, p.previous.messageId)}>← earlier post</a>
        </>
      ) : null}
      {p.next ? (
        <>
          {' '}
          · <a href={p.links.post(p.next.list, p.next.messageId)}>later post →</a>
        </>
      ) : null}
    </p>
    <p class="muted">Message-ID: {p.item.post.messageId}</p>
    <PostView item={p.item} links={p.links} addresses={p.addresses} />
    {p.thread.length > 1 ? (
      <section class="thread-outline">
        <h2>In this thread</h2>
        <ul>
          {p.thread.map((t) => (
            <li data-depth={Math.min(t.depth, 12)}>
              {t.post.id === p.item.post.id ? (
                <strong>{t.post.subject || '(no subject)'}</strong>
              ) : (
                <a href={p.links.post(t.post.list, t.post.messageId)}>
                  {t.post.subject || '(no subject)'}
                </a>
              )}{' '}
              <span class="muted">
                {authorOf(t.post, p.addresses)}, {day(t.post.date)}
              </span>
            </li>
          ))}
        </ul>
      </section>
    ) : null}
  </>
);

export const SearchView: FC<{
  action: string;
  lists?: string[];
  values: SearchValues;
  result?: SearchResult;
  page: number;
  pageSize: number;
  href: (page: number) => string;
  links: ArchiveLinks;
  addresses: boolean;
  error?: string;
}> = (p) => {
  const r = p.result;
  const pages = r ? Math.max(1, Math.ceil(r.total / p.pageSize)) : 0;
  return (
    <>
      <SearchForm action={p.action} {...(p.lists ? { lists: p.lists } : {})} values={p.values} />
      {p.error ? <p class="error">{p.error}</p> : null}
      {r ? (
        <>
          <p class="search-count">
            {r.total === 0
              ? 'Nothing found.'
              : `${r.more ? `More than ${r.total.toLocaleString('en')}` : r.total.toLocaleString('en')} ${r.total === 1 ? 'post' : 'posts'} found.`}
          </p>
          <ol class="hits" start={(p.page - 1) * p.pageSize + 1}>
            {r.hits.map((h) => (
              <li>
                <a href={p.links.post(h.post.list, h.post.messageId)}>
                  {h.post.subject || '(no subject)'}
                </a>{' '}
                <span class="muted">
                  {h.post.list} · {authorOf(h.post, p.addresses)} · {day(h.post.date)}
                </span>
                {h.snippet.length > 0 ? (
                  <p class="snippet">
                    {h.snippet.map((s) => (s.match ? <mark>{s.text}</mark> : s.text))}
                  </p>
                ) : null}
              </li>
            ))}
          </ol>
          <Pager page={p.page} pages={pages} href={p.href} />
        </>
      ) : null}
    </>
  );
};
