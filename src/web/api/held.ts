/** API: held posts — the queue, one post (headers, text, attachments), decisions. */
import { createRoute, z } from '@hono/zod-openapi';
import { findHeld, heldStore } from '../../moderation/held.ts';
import type { StoredMeta } from '../../state/mail-store.ts';
import { safeName } from '../../state/safe-name.ts';
import type { WebDeps } from '../env.ts';
import { decideHeld, heldMetas } from '../held-actions.ts';
import { body, ERRORS, json } from './common.ts';
import type { ApiApp } from './index.ts';
import {
  DecisionBody,
  DecisionResult,
  HeldDetail,
  HeldParam,
  HeldSummary,
  ListParam,
} from './schemas.ts';

/** The fields of a held post both answers share. */
function heldSummary(m: StoredMeta) {
  return {
    id: m.id,
    held_at: m.at,
    from: m.from ?? null,
    subject: m.subject ?? null,
    reason: m.reason,
    message_id: m.messageId ?? null,
  };
}

export function registerHeld(app: ApiApp, deps: WebDeps): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/lists/{list}/held',
      summary: 'Posts waiting for a moderator',
      request: { params: ListParam },
      responses: {
        200: json(z.object({ held: z.array(HeldSummary) }), 'Held posts, oldest first'),
        ...ERRORS,
      },
    }),
    async (c) => {
      const metas = await heldMetas(
        heldStore(c.get('state').runtime.moderation, c.get('list').name),
      );
      const held = metas.sort((a, b) => a.at.localeCompare(b.at)).map(heldSummary);
      return c.json({ held }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/lists/{list}/held/{id}',
      summary: 'One held post: its header fields, its text (never HTML) and its attachments',
      request: { params: HeldParam },
      responses: { 200: json(HeldDetail, 'The post'), ...ERRORS },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const held = await findHeld(
        c.get('state').runtime.moderation,
        c.get('list').name,
        safeName(id),
      );
      if (!held || held.decided)
        return c.json({ error: 'no such held post (decided or expired)' }, 404);
      const v = await (await import('../message-view.ts')).viewMessage(held.raw);
      const m = held.meta;
      return c.json(
        {
          ...heldSummary(m),
          headers: v.headerLines,
          text: v.text,
          truncated: v.truncated,
          attachments: v.attachments.map((a) => ({
            filename: a.filename,
            content_type: a.contentType,
            size: a.size,
          })),
        },
        200,
      );
    },
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/lists/{list}/held/decisions',
      summary: 'Approves, rejects (the poster told the reason) or discards held posts, once each',
      request: { params: ListParam, ...body(DecisionBody) },
      responses: { 200: json(DecisionResult, 'One result per post'), ...ERRORS },
    }),
    async (c) => {
      const { ids, action, reason } = c.req.valid('json');
      const by = `api:${c.get('token').name ?? c.get('token').id}`;
      const results = await decideHeld(
        c.get('state'),
        c.get('list'),
        ids.map(safeName),
        action,
        by,
        reason,
      );
      deps.log(
        `api ${c.get('token').id} ${action} ${ids.length} held post(s) of ${c.get('list').name}`,
      );
      return c.json({ results }, 200);
    },
  );
}
