/**
 * The archive's downloads: a post's stored bytes as `text/plain` (raw), and a post, a thread
 * or a month as an mbox (mboxrd, the record bytes `malist archive export` writes: the stored
 * message with `>*From ` lines quoted once more, so a reader unquoting them gets the stored
 * bytes back), and a post's attachment, decoded, always as a download (`Content-Disposition:
 * attachment`, its declared type only when it is a well-formed one, nosniff). A month is
 * streamed; a post or a thread is read whole first, so an index out of step with the files
 * is a clear error, not a cut download.
 */
import { Hono } from 'hono';
import type { ArchivedPost } from '../../archive/db.ts';
import { attachmentOf, contentDisposition, downloadHeaders } from '../../archive/message.ts';
import { mboxOf } from '../../archive/read.ts';
import type { ArchiveStore } from '../../archive/store.ts';
import { page, type WebContext, type WebDeps, type WebEnv } from '../env.ts';
import { archiveOf, readableList } from './access.ts';
import { messageIdParam } from './links.ts';

const MBOX = 'application/mbox';

function notFound(c: WebContext, what: string) {
  return page(c, 'Not in the archive', `There is no such ${what} in this archive.`, {
    status: 404,
  });
}

function mboxHeaders(c: WebContext, filename: string): void {
  c.header('Content-Type', MBOX);
  c.header('Content-Disposition', contentDisposition(filename));
  c.header('X-Content-Type-Options', 'nosniff');
}

/** A safe file name part for a Message-ID or list name. */
const namePart = (text: string) => text.replace(/[^\w.@+-]+/g, '_').slice(0, 80);

/** Chunks of an async generator as a response body; an error mid-way ends it and is logged. */
function streamOf(
  chunks: AsyncGenerator<Buffer>,
  log: (line: string) => void,
): ReadableStream<Uint8Array> {
  return new ReadableStream({
    async pull(controller) {
      try {
        const { value, done } = await chunks.next();
        if (done) controller.close();
        else controller.enqueue(new Uint8Array(value));
      } catch (error) {
        log(`archive download cut short: ${(error as Error).message}`);
        controller.error(error);
      }
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
}

/** Posts as one mbox, read whole. */
async function mboxWhole(
  store: ArchiveStore,
  posts: ArchivedPost[],
): Promise<Uint8Array<ArrayBuffer>> {
  const chunks: Buffer[] = [];
  for await (const chunk of mboxOf((p) => store.read(p), posts)) chunks.push(chunk);
  return new Uint8Array(Buffer.concat(chunks));
}

export function archiveDownloads(deps: WebDeps): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  const postOf = (c: WebContext) =>
    archiveOf(c)!.post(c.get('list').name, messageIdParam(c.req.param('id')));

  app.get('/archive/:list/m/:id/raw', readableList, async (c) => {
    const post = await postOf(c);
    if (!post) return notFound(c, 'post');
    const bytes = await archiveOf(c)!.read(post);
    c.header('Content-Type', 'text/plain; charset=utf-8');
    c.header('X-Content-Type-Options', 'nosniff');
    return c.body(new Uint8Array(bytes));
  });

  app.get('/archive/:list/m/:id/mbox', readableList, async (c) => {
    const post = await postOf(c);
    if (!post) return notFound(c, 'post');
    mboxHeaders(c, `${namePart(post.messageId)}.mbox`);
    return c.body(await mboxWhole(archiveOf(c)!, [post]));
  });

  app.get('/archive/:list/m/:id/a/:n{[0-9]{1,4}}', readableList, async (c) => {
    const post = await postOf(c);
    if (!post) return notFound(c, 'post');
    const raw = await archiveOf(c)!.read(post);
    const found = attachmentOf(raw, Number(c.req.param('n')));
    if (!found) return notFound(c, 'attachment');
    for (const [name, value] of Object.entries(downloadHeaders(found.filename, found.type)))
      c.header(name, value);
    return c.body(new Uint8Array(found.bytes));
  });

  app.get('/archive/:list/t/:id/mbox', readableList, async (c) => {
    const list = c.get('list').name;
    const posts = await archiveOf(c)!.threadPosts(list, messageIdParam(c.req.param('id')));
    if (posts.length === 0) return notFound(c, 'thread');
    mboxHeaders(c, `${namePart(list)}-thread-${namePart(posts[0]!.messageId)}.mbox`);
    return c.body(await mboxWhole(archiveOf(c)!, posts));
  });

  app.get('/archive/:list/:file{[0-9]{4}-[0-9]{2}\\.mbox}', readableList, async (c) => {
    const list = c.get('list').name;
    const month = c.req.param('file').slice(0, 7);
    const store = archiveOf(c)!;
    const posts = await store.monthPosts(list, month);
    if (posts.length === 0) return notFound(c, 'month');
    mboxHeaders(c, `${namePart(list)}-${month}.mbox`);
    return c.body(
      streamOf(
        mboxOf((p) => store.read(p), posts),
        deps.log,
      ),
    );
  });

  return app;
}
