/**
 * `malist serve` — a small HTTP server for one-click unsubscribe (RFC 8058). The
 * personalised URL is `…/unsubscribe/LIST/MEMBER/TOKEN` (or `?list=&member=&token=`):
 * - POST with `List-Unsubscribe=One-Click` unsubscribes at once (what mail clients send);
 * - GET shows a page with a button that POSTs the same — a GET never changes anything,
 *   because link scanners follow links.
 * No cookies, no redirects, no state but the member store; a bad token changes nothing.
 * At most `maxConnections` clients at once, each with `headersTimeoutMs` to send its
 * request header; log lines show what a client sent with control characters escaped.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ListSettings } from '../list/settings.ts';
import type { MemberStore } from '../members/store.ts';
import { checkUnsubscribeToken } from '../state/unsubscribe-token.ts';

export interface ServeList {
  list: ListSettings;
  store: MemberStore;
  /** Told after a member left (a goodbye mail, a log line). */
  onUnsubscribed?: (address: string) => Promise<void>;
}

export interface ServeOptions {
  /** The lists served, by list name. */
  lists: Record<string, ServeList>;
  /** The HMAC key of the tokens (the one that filled `{token}`). */
  secret: Buffer;
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @default 8025 */
  port?: number;
  /** Told of each request (method, path without the token, status), control characters escaped. */
  log?: (line: string) => void;
  /** Connections served at once; more are closed at once. @default 100 */
  maxConnections?: number;
  /** A client must send its request header within this many ms (slowloris). @default 10000 */
  headersTimeoutMs?: number;
}

export interface RunningServer {
  server: Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

const MAX_BODY = 16 * 1024;

/** A request's words for a log line: one line, control and non-ASCII characters escaped, bounded. */
export function logSafe(text: string): string {
  return JSON.stringify(text.slice(0, 200))
    .slice(1, -1)
    .replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

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

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** True when the POST body says `List-Unsubscribe=One-Click` (urlencoded or multipart). */
export function isOneClick(body: string): boolean {
  if (new URLSearchParams(body).get('List-Unsubscribe') === 'One-Click') return true;
  return /name="List-Unsubscribe"\r?\n\r?\nOne-Click\r?\n/.test(body);
}

export function createUnsubscribeHandler(options: ServeOptions) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const send = (status: number, html: string, extra: Record<string, string> = {}) => {
      res.writeHead(status, {
        'Content-Type': 'text/html; charset=utf-8',
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
        ...extra,
      });
      res.end(html);
    };
    const url = new URL(req.url ?? '/', 'http://localhost');
    const target = parseTarget(url);
    const served = target ? options.lists[target.list] : undefined;
    const valid =
      target &&
      served &&
      checkUnsubscribeToken(options.secret, target.list, target.member, target.token);
    options.log?.(
      `${logSafe(req.method ?? '?')} /${logSafe(target?.list ?? '?')} ${valid ? 'ok' : 'refused'}`,
    );
    if (!target || !served || !valid) {
      await readBody(req).catch(() => undefined);
      return send(
        404,
        page('Unknown link', '<p>This unsubscribe link is not valid. Nothing was changed.</p>'),
      );
    }
    const name = served.list.display_name ?? served.list.name;
    if (req.method === 'GET' || req.method === 'HEAD') {
      const form = `<p>Unsubscribe <b>${escapeHtml(target.member)}</b> from the ${escapeHtml(name)} list (${escapeHtml(served.list.address)})?</p><form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`;
      return send(200, page(`Unsubscribe from ${name}`, form));
    }
    if (req.method !== 'POST')
      return send(405, page('Method not allowed', ''), { Allow: 'GET, POST' });
    const body = await readBody(req);
    if (body === undefined) return send(413, page('Too large', ''));
    if (!isOneClick(body))
      return send(400, page('Bad request', '<p>Expected List-Unsubscribe=One-Click.</p>'));
    const removed = await served.store.remove(target.member);
    if (removed) await served.onUnsubscribed?.(target.member).catch(() => {});
    return send(
      200,
      page(
        'Unsubscribed',
        `<p>${escapeHtml(target.member)} is no longer subscribed to the ${escapeHtml(name)} list.</p>`,
      ),
    );
  };
}

/** Starts the server; resolves once it listens. */
export async function serve(options: ServeOptions): Promise<RunningServer> {
  const handler = createUnsubscribeHandler(options);
  const headersTimeout = options.headersTimeoutMs ?? 10_000;
  const server = createServer(
    {
      headersTimeout,
      requestTimeout: Math.max(headersTimeout, 10_000),
      // How often Node looks for clients past their time (its default is 30 s).
      connectionsCheckingInterval: Math.min(1000, Math.max(50, headersTimeout / 2)),
    },
    (req, res) => {
      handler(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end('internal error\n');
      });
    },
  );
  server.maxConnections = options.maxConnections ?? 100;
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8025, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port, address } = server.address() as AddressInfo;
  return {
    server,
    port,
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
