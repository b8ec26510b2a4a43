/**
 * The REST API under /api/v1: JSON for the same resources as the pages (lists and their
 * settings, members with bulk operations, held posts with decisions, the queue, bounces,
 * statistics), for bearer tokens made with `malist web token create --scope …`. A token's
 * scopes: `admin` (every list), `list:NAME` (read and write that list), `list:NAME:read`.
 * A list outside the token's scopes is answered like one that does not exist (404); a
 * write with a read-only token is 403. No cookies are read here, so no CSRF applies.
 * The OpenAPI document (/api/v1/openapi.json) is generated from the routes' own schemas.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ApiToken } from '../../state/web-credentials.ts';
import type { WebDeps } from '../env.ts';
import type { SiteState, WebList } from '../site.ts';
import { registerHeld } from './held.ts';
import { registerLists } from './lists.ts';
import { registerMembers } from './members.ts';
import { registerQueue } from './queue.ts';

export type ApiEnv = {
  Variables: { token: ApiToken; state: SiteState; list: WebList; write: boolean };
};
export type ApiApp = OpenAPIHono<ApiEnv>;

/** True when `token` may read (or, with `write`, change) list `name`. */
export function allowed(token: ApiToken, name: string, write: boolean): boolean {
  return token.scopes.some(
    (s) => s === 'admin' || s === `list:${name}` || (!write && s === `list:${name}:read`),
  );
}

export function apiRoutes(deps: WebDeps): ApiApp {
  const app: ApiApp = new OpenAPIHono<ApiEnv>({
    defaultHook: (result, c) => {
      if (!result.success)
        return c.json(
          {
            error: 'the request does not fit the schema',
            problems: result.error.issues.map(
              (i) => `${i.path.join('.') || '(body)'}: ${i.message}`,
            ),
          },
          400,
        );
    },
  });
  app.use(
    '*',
    bodyLimit({ maxSize: 25 * 1024 * 1024, onError: (c) => c.json({ error: 'too large' }, 413) }),
  );
  app.use('*', async (c, next) => {
    if (c.req.path.endsWith('/openapi.json')) return next();
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('Authorization') ?? '')?.[1];
    const token = bearer ? await deps.site.credentials.findToken(bearer) : undefined;
    if (!token) {
      c.header('WWW-Authenticate', 'Bearer realm="malist"');
      return c.json({ error: 'a valid bearer token is needed (malist web token create)' }, 401);
    }
    c.set('token', token);
    c.set('state', deps.site.current());
    return next();
  });
  const scoped: MiddlewareHandler<ApiEnv> = async (c, next) => {
    const name = c.req.param('list') ?? '';
    const write = !['GET', 'HEAD'].includes(c.req.method);
    const list = c.get('state').list(name);
    const token = c.get('token');
    if (!list || !allowed(token, name, false)) return c.json({ error: 'no such list' }, 404);
    if (write && !allowed(token, name, true))
      return c.json({ error: `this token may only read ${name}` }, 403);
    c.set('list', list);
    c.set('write', write);
    return next();
  };
  app.use('/lists/:list', scoped);
  app.use('/lists/:list/*', scoped);
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'a token from `malist web token create --scope list:NAME`',
  });
  registerLists(app, deps);
  registerMembers(app, deps);
  registerHeld(app, deps);
  registerQueue(app, deps);
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'malist REST API',
      version: '1',
      description:
        'Lists, members, held posts, the queue, bounces and statistics of a malist installation.',
    },
    servers: [{ url: `${deps.site.baseUrl}/api/v1` }],
    security: [{ bearer: [] }],
  });
  return app;
}
