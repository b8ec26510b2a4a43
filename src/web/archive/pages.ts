/**
 * The archive's pages (`/archive/…`): the lists a reader may read, a list's months, a
 * month's threads collapsed and paged, a thread nested with quotes folded, a post at its
 * permalink by Message-ID, the Atom feed, and search over one list or every list the reader
 * may read. All read the archive index (src/archive); the bytes shown come from the archive
 * files, which stay the truth.
 */
import { Hono } from 'hono';
import { listFeed } from '../../archive/atom.ts';
import { months, monthThreads, neighbours, thread } from '../../archive/browse.ts';
import type { ArchivedPost, ArchiveIndex } from '../../archive/db.ts';
import { showPost } from '../../archive/message.ts';
import { readStored } from '../../archive/read.ts';
import { dateBound, type SearchResult, search } from '../../archive/search.ts';
import { flattenThread } from '../../archive/thread.ts';
import { archiveVisibility } from '../../list/archive.ts';
import { page, type WebContext, type WebDeps, type WebEnv } from '../env.ts';
import type { WebList } from '../site.ts';
import {
  ArchiveLists,
  ListArchive,
  MessageView,
  MonthView,
  type SearchValues,
  SearchView,
  type ShownArchivedPost,
  ThreadView,
} from '../views/archive.tsx';
import { archiveIndexOf, readableList, readableLists } from './access.ts';
import { links, messageIdParam, pageParam } from './links.ts';

/** Threads on a month page. */
const MONTH_PAGE = 50;
/** Posts a thread page renders (the thread's mbox has them all). */
const THREAD_PAGE = 200;
/** Hits on a search page. */
const SEARCH_PAGE = 20;

/** Addresses are shown to readers who are signed in; the public sees names (as pipermail hides them). */
const addresses = (c: WebContext) => c.get('who') !== undefined;

const title = (list: WebList) => list.settings.display_name ?? list.name;

async function shown(index: ArchiveIndex, post: ArchivedPost): Promise<ShownArchivedPost> {
  try {
    return { post, shown: showPost(await readStored(index.root, post)) };
  } catch (error) {
    return { post, error: (error as Error).message };
  }
}

function searchValues(c: WebContext): SearchValues {
  const values: SearchValues = {};
  for (const key of ['q', 'from', 'after', 'before', 'list'] as const) {
    const v = c.req.query(key)?.trim();
    if (v) values[key] = v.slice(0, 500);
  }
  return values;
}

/** Runs a search for the page, or says what is wrong with the form. */
function runSearch(
  index: ArchiveIndex,
  values: SearchValues,
  lists: string[],
  pageNo: number,
): { result?: SearchResult; error?: string } {
  if (!values.q && !values.from && !values.after && !values.before) return {};
  for (const key of ['after', 'before'] as const) {
    const v = values[key];
    if (v && dateBound(v) === undefined)
      return { error: `"${key}" is not a date: write it as YYYY-MM-DD (or YYYY-MM).` };
  }
  const only = values.list ? lists.filter((l) => l === values.list) : lists;
  return {
    result: search(index, {
      ...(values.q ? { q: values.q } : {}),
      ...(values.from ? { from: values.from } : {}),
      ...(values.after ? { after: values.after } : {}),
      ...(values.before ? { before: values.before } : {}),
      lists: only,
      limit: SEARCH_PAGE,
      offset: (pageNo - 1) * SEARCH_PAGE,
    }),
  };
}

function searchPage(c: WebContext, action: string, lists: string[], heading: string) {
  const values = searchValues(c);
  const pageNo = pageParam(c.req.query('page'));
  const { result, error } = runSearch(archiveIndexOf(c)!, values, lists, pageNo);
  const href = (n: number) => {
    const q = new URLSearchParams(values as Record<string, string>);
    if (n > 1) q.set('page', String(n));
    return `${action}?${q}`;
  };
  return page(
    c,
    heading,
    SearchView({
      action,
      ...(lists.length > 1 ? { lists } : {}),
      values,
      ...(result ? { result } : {}),
      ...(error ? { error } : {}),
      page: pageNo,
      pageSize: SEARCH_PAGE,
      href,
      links,
      addresses: addresses(c),
    }),
  );
}

export function archivePages(deps: WebDeps): Hono<WebEnv> {
  const app = new Hono<WebEnv>();

  const index = async (c: WebContext) => {
    const lists = await readableLists(c);
    const idx = archiveIndexOf(c);
    const rows = lists.map((l) => {
      const m = idx ? months(idx, l.name) : [];
      return {
        name: l.name,
        displayName: title(l),
        address: l.settings.address,
        visibility: archiveVisibility(l.settings),
        posts: m.reduce((n, x) => n + x.posts, 0),
        ...(m[0] ? { latest: m[0].month } : {}),
      };
    });
    return page(c, 'Archives', ArchiveLists({ lists: rows, links }));
  };
  app.get('/archive', index);
  app.get('/archive/', index);

  app.get('/archive/search', async (c) => {
    const lists = (await readableLists(c)).map((l) => l.name);
    return searchPage(c, '/archive/search', lists, 'Search the archives');
  });

  const front = (c: WebContext) => {
    const list = c.get('list');
    return page(
      c,
      `${title(list)} archive`,
      ListArchive({
        list: list.name,
        months: months(archiveIndexOf(c)!, list.name),
        links,
        feed: `${links.list(list.name)}feed.atom`,
      }),
    );
  };
  app.get('/archive/:list', readableList, (c) => c.redirect(links.list(c.get('list').name), 301));
  app.get('/archive/:list/', readableList, front);

  app.get('/archive/:list/search', readableList, (c) => {
    const list = c.get('list');
    return searchPage(c, `${links.list(list.name)}search`, [list.name], `Search ${title(list)}`);
  });

  app.get('/archive/:list/feed.atom', readableList, async (c) => {
    const list = c.get('list');
    const base = (list.settings.archive?.url ?? deps.site.baseUrl).replace(/\/+$/, '');
    const xml = await listFeed(archiveIndexOf(c)!, list.name, {
      title: `${title(list)} archive`,
      archiveUrl: `${base}${links.list(list.name)}`,
      selfUrl: `${base}${links.list(list.name)}feed.atom`,
      permalinkOf: (id) => `${base}${links.post(list.name, id)}`,
    });
    c.header('Content-Type', 'application/atom+xml; charset=utf-8');
    return c.body(xml);
  });

  app.get('/archive/:list/:month{[0-9]{4}-[0-9]{2}}', readableList, (c) => {
    const list = c.get('list');
    const month = c.req.param('month');
    const pageNo = pageParam(c.req.query('page'));
    const found = monthThreads(archiveIndexOf(c)!, list.name, month, {
      limit: MONTH_PAGE,
      offset: (pageNo - 1) * MONTH_PAGE,
    });
    if (found.posts === 0)
      return page(c, 'Not in the archive', 'Nothing was archived in that month.', {
        status: 404,
      });
    return page(
      c,
      `${title(list)} · ${month}`,
      MonthView({
        list: list.name,
        month,
        posts: found.posts,
        threads: found.threads,
        items: found.items,
        page: pageNo,
        pages: Math.max(1, Math.ceil(found.threads / MONTH_PAGE)),
        links,
        addresses: addresses(c),
      }),
    );
  });

  app.get('/archive/:list/t/:id', readableList, async (c) => {
    const list = c.get('list');
    const idx = archiveIndexOf(c)!;
    const tree = flattenThread(thread(idx, list.name, messageIdParam(c.req.param('id'))));
    if (tree.length === 0)
      return page(c, 'Not in the archive', 'There is no such thread in this archive.', {
        status: 404,
      });
    const items = [];
    for (const { post, depth } of tree.slice(0, THREAD_PAGE))
      items.push({ ...(await shown(idx, post)), depth });
    return page(
      c,
      tree[0]!.post.subject || '(no subject)',
      ThreadView({
        list: list.name,
        threadId: tree[0]!.post.threadId,
        items,
        more: Math.max(0, tree.length - THREAD_PAGE),
        links,
        addresses: addresses(c),
      }),
    );
  });

  app.get('/archive/:list/m/:id', readableList, async (c) => {
    const list = c.get('list');
    const idx = archiveIndexOf(c)!;
    const post = idx.post(list.name, messageIdParam(c.req.param('id')));
    if (!post)
      return page(
        c,
        'Not in the archive',
        'There is no post with that Message-ID in this archive.',
        {
          status: 404,
        },
      );
    const around = neighbours(idx, post);
    const outline = flattenThread(thread(idx, list.name, post.threadId));
    return page(
      c,
      post.subject || '(no subject)',
      MessageView({
        item: await shown(idx, post),
        thread: outline,
        ...around,
        links,
        addresses: addresses(c),
      }),
    );
  });

  return app;
}
