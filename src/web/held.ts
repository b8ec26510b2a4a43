/**
 * `/lists/:list/held`: the held queue (moderators, owners, admins). One post in full, and
 * approve / reject with a reason / discard, one by one or for every ticked post at once.
 */
import { Hono } from 'hono';
import { findHeld, heldStore } from '../moderation/held.ts';
import { safeName } from '../state/safe-name.ts';
import {
  actor,
  field,
  fields,
  listArea,
  page,
  type WebContext,
  type WebDeps,
  type WebEnv,
} from './env.ts';
import { decideHeld, heldMetas, WEB_ACTIONS, type WebAction } from './held-actions.ts';
import { HeldPost, type HeldRow, HeldTable } from './views/held.tsx';

export function age(ms: number): string {
  const m = Math.max(0, Math.round(ms / 60_000));
  if (m < 60) return `${m} min`;
  const h = Math.round(m / 60);
  return h < 48 ? `${h} h` : `${Math.round(h / 24)} days`;
}

async function heldPage(c: WebContext, notice?: string, error?: string) {
  const list = c.get('list');
  const now = Date.now();
  const metas = await heldMetas(heldStore(c.get('state').runtime.moderation, list.name));
  const rows: HeldRow[] = metas
    .sort((a, b) => a.at.localeCompare(b.at))
    .map((m) => ({
      id: m.id,
      age: age(now - Date.parse(m.at)),
      from: m.from ?? '',
      subject: m.subject ?? '',
      reason: m.reason,
    }));
  return page(
    c,
    `Held posts of ${list.name}`,
    HeldTable({ list: list.name, rows, csrf: c.get('csrf') }),
    {
      nav: 'held',
      ...(notice ? { notice } : {}),
      ...(error ? { error } : {}),
    },
  );
}

export function heldRoutes(_deps: WebDeps): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  app.use('/lists/:list/held', listArea('held'));
  app.use('/lists/:list/held/*', listArea('held'));
  app.get('/lists/:list/held', (c) => heldPage(c));
  app.post('/lists/:list/held/decide', async (c) => {
    const form = await c.req.parseBody({ all: true });
    const action = field(form, 'action') as WebAction;
    const ids = fields(form, 'id');
    if (!WEB_ACTIONS.includes(action))
      return heldPage(c, undefined, 'Pick approve, reject or discard.');
    if (ids.length === 0) return heldPage(c, undefined, 'Tick at least one post.');
    const outcomes = await decideHeld(
      c.get('state'),
      c.get('list'),
      ids,
      action,
      actor(c),
      field(form, 'reason'),
    );
    const failed = outcomes.filter((o) => o.status !== 'done');
    return heldPage(
      c,
      outcomes
        .filter((o) => o.status === 'done')
        .map((o) => o.message)
        .join('; ') || undefined,
      failed.map((o) => o.message).join('\n') || undefined,
    );
  });
  app.get('/lists/:list/held/:id', async (c) => {
    const list = c.get('list');
    const id = safeName(c.req.param('id'));
    const held = await findHeld(c.get('state').runtime.moderation, list.name, id);
    if (!held || held.decided)
      return page(c, 'No such held post', 'It was decided or has expired.', {
        nav: 'held',
        status: 404,
      });
    // Loaded when a post is opened: mailparser and its charset tables cost ~15 MB.
    const view = await (await import('./message-view.ts')).viewMessage(held.raw);
    return page(
      c,
      view.subject || '(no subject)',
      HeldPost({ list: list.name, id, view, csrf: c.get('csrf'), reason: held.meta.reason }),
      { nav: 'held' },
    );
  });
  return app;
}
