/** `/lists/:list/stats` (owners, moderators, admins): the list's figures, charted. */
import { Hono } from 'hono';
import { listArea, page, type WebDeps, type WebEnv } from './env.ts';
import { listStats } from './stats-data.ts';
import { StatsPage } from './views/stats.tsx';

export function statsRoutes(_deps: WebDeps): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  app.get('/lists/:list/stats', listArea('stats'), async (c) => {
    const list = c.get('list');
    const stats = await listStats(c.get('state'), list);
    return page(c, `Statistics of ${list.name}`, StatsPage({ stats }), {
      nav: 'stats',
      scripts: ['/static/chart.umd.js', '/static/charts.js'],
    });
  });
  return app;
}
