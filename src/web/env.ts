/**
 * What every web area gets: the site, the session machinery, the rate limiters; and what
 * the middleware puts on each request (the site's state as the request began, who is
 * signed in, the CSRF token of its forms, the list at hand and the viewer's roles on it).
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { Child } from 'hono/jsx';
import type { RateLimiter } from './rate-limit.ts';
import { type Area, areasFor, mayOpen, type Role, staffRoles } from './roles.ts';
import type { Sessions, Who } from './session.ts';
import type { Site, SiteState, WebList } from './site.ts';
import { Layout, type ListNav, type Viewer } from './views/layout.tsx';

export interface WebDeps {
  site: Site;
  sessions: Sessions;
  limits: { perAddress: RateLimiter; perIp: RateLimiter };
  log: (line: string) => void;
}

export type WebEnv = {
  Variables: {
    state: SiteState;
    who?: Who;
    nonce: string;
    csrf: string;
    list: WebList;
    roles: Role[];
  };
};

export type WebContext = Context<WebEnv>;

export function viewerOf(c: WebContext): Viewer {
  const who = c.get('who');
  const label = who ? (who.kind === 'admin' ? `admin ${who.name}` : who.address) : undefined;
  return { csrf: c.get('csrf'), ...(label ? { label } : {}) };
}

/** Renders a page in the site's frame. */
export function page(
  c: WebContext,
  title: string,
  body: unknown,
  options: {
    nav?: string;
    notice?: string;
    error?: string;
    status?: number;
    scripts?: string[];
  } = {},
) {
  let nav: ListNav | undefined;
  if (options.nav !== undefined) {
    const list = c.get('list');
    nav = { name: list.name, areas: areasFor(c.get('roles')), current: options.nav };
  }
  return c.html(
    Layout({
      title,
      viewer: viewerOf(c),
      children: body as Child,
      ...(nav ? { nav } : {}),
      ...(options.notice ? { notice: options.notice } : {}),
      ...(options.error ? { error: options.error } : {}),
      ...(options.scripts ? { scripts: options.scripts } : {}),
    }) as Promise<string>,
    (options.status ?? 200) as 200,
  );
}

/** The same answer for a list that does not exist and one the viewer has no part in. */
export function noSuchList(c: WebContext) {
  return page(c, 'No such list', 'There is no such list, or you have no part in it.', {
    status: 404,
  });
}

/** Signed-in users only; others go to the sign-in page. */
export const signedIn: MiddlewareHandler<WebEnv> = async (c, next) => {
  if (!c.get('who')) return c.redirect('/login', 303);
  return next();
};

/** Loads `:list` and checks the viewer may open `area` of it. */
export function listArea(area: Area): MiddlewareHandler<WebEnv> {
  return async (c, next) => {
    if (!c.get('who')) return c.redirect('/login', 303);
    const list = c.get('state').list(c.req.param('list') ?? '');
    if (!list) return noSuchList(c);
    const roles = staffRoles(c.get('who'), list);
    if (!mayOpen(roles, area)) return noSuchList(c);
    c.set('list', list);
    c.set('roles', roles);
    return next();
  };
}

/** A form field as a string ('' when absent or a file). */
export function field(form: Record<string, unknown>, name: string): string {
  const value = form[name];
  const one = Array.isArray(value) ? value[0] : value;
  return typeof one === 'string' ? one : '';
}

/** A form field that may repeat (checkboxes), as strings. */
export function fields(form: Record<string, unknown>, name: string): string[] {
  const value = form[name];
  return (Array.isArray(value) ? value : value === undefined ? [] : [value]).filter(
    (v): v is string => typeof v === 'string',
  );
}

/** Who did it, for decisions and logs: `web:ADDRESS` or `web:admin:NAME`. */
export function actor(c: WebContext): string {
  const who = c.get('who');
  return who?.kind === 'admin' ? `web:admin:${who.name}` : `web:${who?.address ?? '?'}`;
}
