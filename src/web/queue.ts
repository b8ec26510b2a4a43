/** `/lists/:list/queue` (owners, admins): the list's queue entries and dead letters; retry, drop. */
import { Hono } from 'hono';
import { actor, field, listArea, page, type WebContext, type WebDeps, type WebEnv } from './env.ts';
import { dropEntry, queueRows, retryEntry } from './queue-actions.ts';
import { QueueTables } from './views/queue.tsx';

async function queuePage(c: WebContext, notice?: string, error?: string) {
  const list = c.get('list');
  const rows = await queueRows(c.get('state'), list);
  return page(
    c,
    `Queue of ${list.name}`,
    QueueTables({ list: list.name, rows, csrf: c.get('csrf') }),
    {
      nav: 'queue',
      ...(notice ? { notice } : {}),
      ...(error ? { error } : {}),
    },
  );
}

export function queueRoutes(deps: WebDeps): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  app.use('/lists/:list/queue', listArea('queue'));
  app.use('/lists/:list/queue/*', listArea('queue'));
  app.get('/lists/:list/queue', (c) => queuePage(c));
  for (const verb of ['retry', 'drop'] as const)
    app.post(`/lists/:list/queue/${verb}`, async (c) => {
      const form = await c.req.parseBody({ all: true });
      const run = verb === 'retry' ? retryEntry : dropEntry;
      const { result, message } = await run(c.get('state'), c.get('list'), field(form, 'id'));
      deps.log(`${actor(c)} ${verb} on ${c.get('list').name}: ${message}`);
      return result === 'done' ? queuePage(c, message) : queuePage(c, undefined, message);
    });
  return app;
}
