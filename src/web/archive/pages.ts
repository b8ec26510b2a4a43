/**
 * The archive's pages (`/archive/…`): the lists a reader may read, a list's months, a
 * month's threads collapsed and paged, a thread nested with quotes folded, a post at its
 * permalink by Message-ID, the Atom feed, and search over one list or every list the reader
 * may read. All read the archive store (src/archive/store.ts): the files and their index, or
 * the rows on PostgreSQL every host shares.
 */
import { Hono } from 'hono';
import { listFeed } from '../../archive/atom.ts';
import type { ArchivedPost } from '../../archive/db.ts';
import { showPost } from '../../archive/message.ts';
import { dateBound, type SearchResult } from '../../archive/search.ts';
import type { ArchiveStore } from '../../archive/store.ts';
import { assembleThread, flattenThread } from '../../archive/thread.ts';
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
import { archiveOf, readableList, readableLists } from './access.ts';
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

async function shown(store: ArchiveStore, post: ArchivedPost): Promise<ShownArchivedPost> {
  try {
    return { post, shown: showPost(await store.read(post)) };
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

/** A thread's posts nested, then flattened in reading order. */
async function threadOutline(store: ArchiveStore, list: string, threadId: string) {
  return flattenThread(assembleThread(await store.threadPosts(list, threadId)));
}

/** Runs a search for the page, or says what is wrong with the form. */
async function runSearch(
  store: ArchiveStore,
  values: SearchValues,
  lists: string[],
  pageNo: number,
): Promise<{ result?: SearchResult; error?: string }> {
  if (!values.q && !values.from && !values.after && !values.before) return {};
  for (const key of ['after', 'before'] as const) {
    const v = values[key];
    if (v && dateBound(v) === undefined)
      return { error: `"${key}" is not a date: write it as YYYY-MM-DD (or YYYY-MM).` };
  }
  const only = values.list ? lists.filter((l) => l === values.list) : lists;
  return {
    result: await store.search({
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

async function searchPage(c: WebContext, action: string, lists: string[], heading: string) {
  const values = searchValues(c);
  const pageNo = pageParam(c.req.query('page'));
  const { result, error } = await runSearch(archiveOf(c)!, values, lists, pageNo);
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

/** The lists whose archives the reader may read, each with its posts and latest month. */
async function archiveIndexPage(c: WebContext) {
  const store = archiveOf(c);
  const rows = await Promise.all(
    (await readableLists(c)).map(async (l) => {
      const m = store ? await store.months(l.name) : [];
      return {
        name: l.name,
        displayName: title(l),
        address: l.settings.address,
        visibility: archiveVisibility(l.settings),
        posts: m.reduce((n, x) => n + x.posts, 0),
        ...(m[0] ? { latest: m[0].month } : {}),
      };
    }),
  );
  return page(c, 'Archives', ArchiveLists({ lists: rows, links }));
}

export function archivePages(deps: WebDeps): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  const index = archiveIndexPage;
  app.get('/archive', index);
  app.get('/archive/', index);

  app.get('/archive/search', async (c) => {
    const lists = (await readableLists(c)).map((l) => l.name);
    return await searchPage(c, '/archive/search', lists, 'Search the archives');
  });

  const front = async (c: WebContext) => {
    const list = c.get('list');
    return page(
      c,
      `${title(list)} archive`,
      ListArchive({
        list: list.name,
        months: await archiveOf(c)!.months(list.name),
        links,
        feed: `${links.list(list.name)}feed.atom`,
      }),
    );
  };
  app.get('/archive/:list', readableList, (c) => c.redirect(links.list(c.get('list').name), 301));
  app.get('/archive/:list/', readableList, front);

  app.get('/archive/:list/search', readableList, async (c) => {
    const list = c.get('list');
    return await searchPage(
      c,
      `${links.list(list.name)}search`,
      [list.name],
      `Search ${title(list)}`,
    );
  });

  app.get('/archive/:list/feed.atom', readableList, async (c) => {
    const list = c.get('list');
    const base = (list.settings.archive?.url ?? deps.site.baseUrl).replace(/\/+$/, '');
    const xml = await listFeed(archiveOf(c)!, list.name, {
      title: `${title(list)} archive`,
      archiveUrl: `${base}${links.list(list.name)}`,
      selfUrl: `${base}${links.list(list.name)}feed.atom`,
      permalinkOf: (id) => `${base}${links.post(list.name, id)}`,
    });
    c.header('Content-Type', 'application/atom+xml; charset=utf-8');
    return c.body(xml);
  });

  app.get('/archive/:list/:month{[0-9]{4}-[0-9]{2}}', readableList, async (c) => {
    const list = c.get('list');
    const month = c.req.param('month');
    const pageNo = pageParam(c.req.query('page'));
    const found = await archiveOf(c)!.monthThreads(list.name, month, {
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
    const store = archiveOf(c)!;
    const tree = await threadOutline(store, list.name, messageIdParam(c.req.param('id')));
    if (tree.length === 0)
      return page(c, 'Not in the archive', 'There is no such thread in this archive.', {
        status: 404,
      });
    const items = [];
    for (const { post, depth } of tree.slice(0, THREAD_PAGE))
      items.push({ ...(await shown(store, post)), depth });
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
    const store = archiveOf(c)!;
    const post = await store.post(list.name, messageIdParam(c.req.param('id')));
    if (!post)
      return page(
        c,
        'Not in the archive',
        'There is no post with that Message-ID in this archive.',
        {
          status: 404,
        },
      );
    const around = await store.neighbours(post);
    const outline = await threadOutline(store, list.name, post.threadId);
    return page(
      c,
      post.subject || '(no subject)',
      MessageView({
        item: await shown(store, post),
        thread: outline,
        ...around,
        links,
        addresses: addresses(c),
      }),
    );
  });

  return app;
}
