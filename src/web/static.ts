/**
 * The few files the pages load, served by malist itself (no CDN, so the CSP can say
 * 'self'): the stylesheet, the script that turns statistics tables into charts, and
 * Chart.js from node_modules. Read once; cached by browsers for an hour.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Hono } from 'hono';

const here = (name: string) => new URL(`./static/${name}`, import.meta.url);

const FILES: Record<string, { type: string; path: () => string | URL }> = {
  'app.css': { type: 'text/css; charset=utf-8', path: () => here('app.css') },
  'charts.js': { type: 'text/javascript; charset=utf-8', path: () => here('charts.js') },
  'chart.umd.js': {
    type: 'text/javascript; charset=utf-8',
    // The package's exports do not name the UMD build: find it beside the CommonJS entry.
    path: () =>
      join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js'),
  },
};

export function staticRoutes(): Hono {
  const app = new Hono();
  const cache = new Map<string, Promise<Buffer>>();
  app.get('/:name', async (c) => {
    const name = c.req.param('name');
    const file = Object.hasOwn(FILES, name) ? FILES[name] : undefined;
    if (!file) return c.text('not found\n', 404);
    if (!cache.has(name)) cache.set(name, readFile(file.path()));
    const body = await cache.get(name)!;
    c.header('Content-Type', file.type);
    c.header('Cache-Control', 'public, max-age=3600');
    return c.body(new Uint8Array(body));
  });
  return app;
}
