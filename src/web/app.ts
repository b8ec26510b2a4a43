/**
 * The web app: one Hono router made of one module per area, so a later area (the
 * archives, src/web/archive/) is one more `route()` line. Order matters only for the middleware:
 * 1. every answer gets the security headers and a Server-Timing of the app's own time;
 * 2. one-click unsubscribe, the static files and the REST API (bearer tokens, no cookies)
 *    stand apart;
 * 3. the pages read the session, refuse other sites' POSTs (Origin) and then POSTs
 *    without the form's CSRF token, before any area sees the request.
 */
import { Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { lazyApiRoutes } from './api-lazy.ts';
import { archiveRoutes } from './archive/index.ts';
import { authRoutes } from './auth.ts';
import { field, page, type WebDeps, type WebEnv } from './env.ts';
import { feedbackRoutes } from './feedback/routes.ts';
import { heldRoutes } from './held.ts';
import { importRoutes } from './import.ts';
import { listsRoutes } from './lists.ts';
import { meRoutes } from './me.ts';
import { memberRoutes } from './members.ts';
import { oneClickRoutes } from './one-click.ts';
import { queueRoutes } from './queue.ts';
import { sameOrigin, securityHeaders } from './security.ts';
import { settingsRoutes } from './settings.ts';
import { staticRoutes } from './static.ts';
import { statsRoutes } from './stats.ts';

/** Paths that are not pages: no session, no CSRF. */
const APART = /^\/(api\/|unsubscribe\/|u(\/|$)|static\/|feedback\/)/;

function pagesOnly(mw: MiddlewareHandler<WebEnv>): MiddlewareHandler<WebEnv> {
  return (c, next) => (APART.test(c.req.path) ? next() : mw(c, next));
}

const timing: MiddlewareHandler = async (c, next) => {
  const started = performance.now();
  await next();
  c.res.headers.set('Server-Timing', `app;dur=${(performance.now() - started).toFixed(2)}`);
};

export function createWebApp(deps: WebDeps): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  app.use(timing, securityHeaders());
  const oneClick = oneClickRoutes({
    secret: deps.site.secret,
    list: (name) => {
      const list = deps.site.current().list(name);
      return list ? { list: list.settings, store: list.store } : undefined;
    },
    log: deps.log,
  });
  app.route('/unsubscribe', oneClick);
  app.route('/u', oneClick);
  app.route('/static', staticRoutes());
  app.route('/api/v1', lazyApiRoutes(deps));
  app.route(
    '/feedback',
    feedbackRoutes({
      settings: () => deps.site.current().config.main?.feedback,
      record: (event) => deps.site.current().runtime.feedback(event),
      log: deps.log,
    }),
  );
  app.use(
    pagesOnly(async (c, next) => {
      c.set('state', deps.site.current());
      const { who, nonce } = await deps.sessions.read(c);
      if (who) c.set('who', who);
      c.set('nonce', nonce);
      c.set('csrf', deps.sessions.csrf(nonce));
      return next();
    }),
    pagesOnly(sameOrigin(() => [new URL(deps.site.baseUrl).origin])),
    pagesOnly((c, next) =>
      bodyLimit({
        maxSize: /\/members\/import$/.test(c.req.path) ? 20 * 1024 * 1024 : 256 * 1024,
        onError: (c) => c.text('Too large.\n', 413),
      })(c, next),
    ),
    pagesOnly(async (c, next) => {
      if (c.req.method !== 'POST') return next();
      const form = await c.req.parseBody({ all: true });
      if (!deps.sessions.checkCsrf(c.get('nonce'), field(form, '_csrf')))
        return page(
          c,
          'Form expired',
          'This form is stale or was not sent from this site. Go back, reload the page and try again.',
          {
            status: 403,
          },
        );
      return next();
    }),
  );
  for (const area of [
    authRoutes,
    listsRoutes,
    heldRoutes,
    // Before the members' `:address` routes, which would take `import` for an address.
    importRoutes,
    memberRoutes,
    settingsRoutes,
    queueRoutes,
    statsRoutes,
    meRoutes,
    archiveRoutes,
  ])
    app.route('/', area(deps));
  app.notFound((c) => c.text('not found\n', 404));
  app.onError((error, c) => {
    deps.log(`error on ${c.req.method} ${c.req.path}: ${error.message}`);
    return c.text('Something went wrong; nothing more was changed. The log says what.\n', 500);
  });
  return app;
}
