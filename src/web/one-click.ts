/**
 * One-click unsubscribe (RFC 8058). The personalised URL is `…/unsubscribe/LIST/MEMBER/TOKEN`
 * (or `?list=&member=&token=`):
 * - POST with `List-Unsubscribe=One-Click` unsubscribes at once (what mail clients send);
 * - GET shows a page with a button that POSTs the same — a GET never changes anything,
 *   because link scanners follow links.
 * No cookies, no redirects, no state but the member store; a bad token changes nothing.
 * The token is the proof, so these POSTs come from anywhere (mail providers' servers) and
 * pass no Origin or CSRF check.
 */
import { Hono } from 'hono';
import { raw } from 'hono/html';
import { listPhrase } from '../list/phrase.ts';
import type { ListSettings } from '../list/settings.ts';
import type { MemberStore } from '../members/store.ts';
import { checkUnsubscribeToken } from '../state/unsubscribe-token.ts';
import { logSafe } from './listen.ts';

export interface OneClickList {
  list: ListSettings;
  store: MemberStore;
  /** Told after a member left (a goodbye mail, a log line). */
  onUnsubscribed?: (address: string) => Promise<void>;
}

export interface OneClickDeps {
  /** The HMAC key of the tokens (the one that filled `{token}`). */
  secret: Buffer;
  list(name: string): OneClickList | undefined;
  /** Told of each request (method, list, ok or refused; never the token). */
  log?: (line: string) => void;
}

const MAX_BODY = 16 * 1024;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>\n`;
}

/** list, member and token from the path's last three segments, or from the query. */
export function parseTarget(url: URL): { list: string; member: string; token: string } | undefined {
  const q = url.searchParams;
  if (q.get('list') && q.get('member') && q.get('token'))
    return { list: q.get('list')!, member: q.get('member')!, token: q.get('token')! };
  const parts = url.pathname.split('/').filter((p) => p !== '');
  if (parts.length < 3) return undefined;
  try {
    const [list, member, token] = parts.slice(-3).map(decodeURIComponent) as [
      string,
      string,
      string,
    ];
    return { list, member, token };
  } catch {
    return undefined;
  }
}

/** True when the POST body says `List-Unsubscribe=One-Click` (urlencoded or multipart). */
export function isOneClick(body: string): boolean {
  if (new URLSearchParams(body).get('List-Unsubscribe') === 'One-Click') return true;
  return /name="List-Unsubscribe"\r?\n\r?\nOne-Click\r?\n/.test(body);
}

async function readBody(request: Request): Promise<string | undefined> {
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > MAX_BODY) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The one-click routes: mount under `/unsubscribe` and `/u` (any path ending LIST/MEMBER/TOKEN). */
export function oneClickRoutes(deps: OneClickDeps): Hono {
  const app = new Hono();
  app.all('*', async (c) => {
    const send = (status: number, html: string) => {
      c.header('Cache-Control', 'no-store');
      return c.html(raw(html), status as 200);
    };
    const target = parseTarget(new URL(c.req.url));
    const served = target ? deps.list(target.list) : undefined;
    const valid =
      target &&
      served &&
      checkUnsubscribeToken(deps.secret, target.list, target.member, target.token);
    deps.log?.(
      `${logSafe(c.req.method)} /unsubscribe/${logSafe(target?.list ?? '?')} ${valid ? 'ok' : 'refused'}`,
    );
    if (!target || !served || !valid) {
      if (c.req.method === 'POST') await readBody(c.req.raw).catch(() => undefined);
      return send(
        404,
        page('Unknown link', '<p>This unsubscribe link is not valid. Nothing was changed.</p>'),
      );
    }
    const name = served.list.display_name ?? served.list.name;
    if (c.req.method === 'GET' || c.req.method === 'HEAD') {
      const form = `<p>Unsubscribe <b>${escapeHtml(target.member)}</b> from the ${escapeHtml(listPhrase(name))} (${escapeHtml(served.list.address)})?</p><form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`;
      return send(200, page(`Unsubscribe from ${name}`, form));
    }
    if (c.req.method !== 'POST') {
      c.header('Allow', 'GET, POST');
      return send(405, page('Method not allowed', ''));
    }
    const body = await readBody(c.req.raw);
    if (body === undefined) return send(413, page('Too large', ''));
    if (!isOneClick(body))
      return send(400, page('Bad request', '<p>Expected List-Unsubscribe=One-Click.</p>'));
    const removed = await served.store.remove(target.member);
    if (removed) await served.onUnsubscribed?.(target.member).catch(() => {});
    return send(
      200,
      page(
        'Unsubscribed',
        `<p>${escapeHtml(target.member)} is no longer subscribed to the ${escapeHtml(listPhrase(name))}.</p>`,
      ),
    );
  });
  return app;
}
