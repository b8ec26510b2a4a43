/** API: a list's queue entries and dead letters; retry now, drop. */
import { createRoute, z } from '@hono/zod-openapi';
import type { WebDeps } from '../env.ts';
import { dropEntry, queueRows, retryEntry } from '../queue-actions.ts';
import { ERRORS, json } from './common.ts';
import type { ApiApp } from './index.ts';
import { ListParam, QueueEntry, QueueParam, QueueVerbResult } from './schemas.ts';

export function registerQueue(app: ApiApp, deps: WebDeps): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/lists/{list}/queue',
      summary: "The list's queue entries (waiting, delivering, first round) and dead letters",
      request: { params: ListParam },
      responses: { 200: json(z.object({ entries: z.array(QueueEntry) }), 'Entries'), ...ERRORS },
    }),
    async (c) => {
      const rows = await queueRows(c.get('state'), c.get('list'));
      const entries = rows.map((r) => ({
        id: r.id,
        state: r.state,
        created: r.created,
        pending: r.pending,
        failed: r.failed,
        delivered: r.delivered,
        next_attempt: r.nextAttempt ?? null,
        last_error: r.lastError,
        message_id: r.messageId ?? null,
        refused: r.refused,
      }));
      return c.json({ entries }, 200);
    },
  );
  const verb = (method: 'post' | 'delete', path: string, summary: string) =>
    createRoute({
      method,
      path,
      summary,
      request: { params: QueueParam },
      responses: {
        200: json(QueueVerbResult, 'What was done'),
        409: json(QueueVerbResult, 'Being delivered right now'),
        ...ERRORS,
      },
    });
  app.openapi(
    verb('post', '/lists/{list}/queue/{id}/retry', 'Delivers a waiting entry now'),
    async (c) => {
      const { id } = c.req.valid('param');
      const r = await retryEntry(c.get('state'), c.get('list'), id);
      deps.log(`api ${c.get('token').id} retry on ${c.get('list').name}: ${r.message}`);
      if (r.result === 'unknown') return c.json({ error: r.message }, 404);
      return c.json({ message: r.message }, 200);
    },
  );
  app.openapi(
    verb(
      'delete',
      '/lists/{list}/queue/{id}',
      'Gives up on an entry (kept as a dead letter), or removes a dead letter',
    ),
    async (c) => {
      const { id } = c.req.valid('param');
      const r = await dropEntry(c.get('state'), c.get('list'), id);
      deps.log(`api ${c.get('token').id} drop on ${c.get('list').name}: ${r.message}`);
      if (r.result === 'unknown') return c.json({ error: r.message }, 404);
      if (r.result === 'busy') return c.json({ message: r.message }, 409);
      return c.json({ message: r.message }, 200);
    },
  );
}
