/**
 * The REST API, loaded at its first request: its schemas and OpenAPI generator
 * (@hono/zod-openapi) cost the server ~15 MB of memory and some start-up time, and a site
 * whose owners only use the pages never needs them. The first API request waits for the
 * import once; the rest go straight through.
 */
import { type Handler, Hono } from 'hono';
import type { WebDeps } from './env.ts';

export function lazyApiRoutes(deps: WebDeps): Hono {
  let api: Promise<Hono> | undefined;
  const load = () => {
    if (!api) {
      api = import('./api/index.ts').then((m) =>
        new Hono().route('/api/v1', m.apiRoutes(deps) as unknown as Hono),
      );
      api.catch(() => {
        api = undefined; // the next request tries again
      });
    }
    return api;
  };
  const handler: Handler = async (c) => (await load()).fetch(c.req.raw, c.env);
  const app = new Hono();
  app.all('/', handler);
  app.all('/*', handler);
  return app;
}
