/** `/`: the lists the viewer has a part in, at a glance; `/lists/:list`: one of them. */
import { Hono } from 'hono';
import { memberSnapshot } from '../members/snapshot.ts';
import { heldStore } from '../moderation/held.ts';
import { listArea, page, signedIn, type WebContext, type WebDeps, type WebEnv } from './env.ts';
import { areasFor, type Role, staffRoles } from './roles.ts';
import type { WebList } from './site.ts';
import { postsSince } from './stats-data.ts';
import { ListFront, type ListRow, ListsTable } from './views/lists.tsx';

async function rowOf(c: WebContext, list: WebList, roles: Role[]): Promise<ListRow> {
  const state = c.get('state');
  const snapshot = await memberSnapshot(list.store);
  const held = await heldStore(state.runtime.moderation, list.name).list();
  const entries = (await Promise.all(state.queues.map((q) => q.list()))).flat();
  return {
    name: list.name,
    address: list.settings.address,
    displayName: list.settings.display_name ?? '',
    members: snapshot.members.length,
    postsWeek: await postsSince(state, list.name, 7),
    held: held.length,
    nomailBounce: snapshot.members.filter((m) => m.nomail && m.nomail_reason === 'bounce').length,
    queued: entries.filter((e) => e.envelope.list === list.name && e.where !== 'dead').length,
    roles: roles.join(', '),
  };
}

export function listsRoutes(_deps: WebDeps): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  app.get('/', signedIn, async (c) => {
    const who = c.get('who');
    const mine = c
      .get('state')
      .lists.map((list) => ({ list, roles: staffRoles(who, list) }))
      .filter((x) => x.roles.length > 0);
    if (mine.length === 0 && who?.kind === 'address') return c.redirect('/me', 303);
    const rows = await Promise.all(mine.map((x) => rowOf(c, x.list, x.roles)));
    return page(c, 'Lists', ListsTable({ rows }));
  });
  app.get('/lists/:list', listArea('overview'), async (c) => {
    const list = c.get('list');
    const row = await rowOf(c, list, c.get('roles'));
    return page(
      c,
      list.settings.display_name ?? list.name,
      ListFront({ row, areas: areasFor(c.get('roles')) }),
      {
        nav: '',
      },
    );
  });
  return app;
}
