/**
 * Headers every answer carries: a strict Content-Security-Policy (scripts, styles and
 * images from this site only, no inline script or style, no framed URLs (the archive frames
 * sanitised HTML posts only as sandboxed `srcdoc`), forms post only here),
 * X-Frame-Options DENY, nosniff, no referrer to other sites, no caching of pages that show list data;
 * and the Origin check every state-changing browser request passes before its CSRF token
 * is even read.
 */
import type { MiddlewareHandler } from 'hono';

export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export function securityHeaders(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const h = c.res.headers;
    // A route's own directives (a download's `sandbox`) are added to the site's, never instead.
    const own = h.get('Content-Security-Policy');
    h.set('Content-Security-Policy', own && own !== CSP ? `${CSP}; ${own}` : CSP);
    h.set('X-Frame-Options', 'DENY');
    h.set('X-Content-Type-Options', 'nosniff');
    // Not no-referrer: under it browsers send `Origin: null` with the site's own form posts.
    h.set('Referrer-Policy', 'same-origin');
    h.set('Cross-Origin-Opener-Policy', 'same-origin');
    h.set('Cross-Origin-Resource-Policy', 'same-origin');
    if (!h.has('Cache-Control')) h.set('Cache-Control', 'no-store');
  };
}

/**
 * Refuses a POST whose Origin (or, without one, Referer) is another site's. `origins` are
 * the site's own: its public URL's and the listener's.
 */
export function sameOrigin(origins: () => string[]): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const origin = c.req.header('Origin') ?? originOf(c.req.header('Referer'));
    const own = [...origins(), new URL(c.req.url).origin];
    if (origin !== undefined && origin !== 'null' && own.includes(origin)) return next();
    if (origin === undefined && c.req.header('Sec-Fetch-Site') !== 'cross-site') return next();
    return c.text('Forbidden: this form was not sent from this site.\n', 403);
  };
}

function originOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).origin;
  } catch {
    return 'null';
  }
}
