/**
 * `malist serve`: the web face of an installation — the pages, the REST API, one-click
 * unsubscribe — on one listener meant to sit behind a TLS reverse proxy. Everything comes
 * from the configuration through the composition root (site.ts); the webhook outbox is
 * worked in the background here, away from the mail path.
 *
 * `serve()` is the one-click endpoint alone over given lists (for applications and tests
 * that have no configuration directory).
 */
import { Hono } from 'hono';
import { loadConfig } from '../config/load.ts';
import { createWebApp } from './app.ts';
import type { WebDeps } from './env.ts';
import { listen, logSafe, type RunningServer } from './listen.ts';
import { type OneClickList, oneClickRoutes } from './one-click.ts';
import { createRateLimiter } from './rate-limit.ts';
import { securityHeaders } from './security.ts';
import { createSessions } from './session.ts';
import { openSite, type Site, webDir } from './site.ts';

export type { RunningServer } from './listen.ts';

export interface StartWebOptions {
  /** The configuration directory (malist.yaml, lists/). */
  dir: string;
  /** @default malist.yaml's web.listen, else 127.0.0.1 */
  host?: string;
  /** @default malist.yaml's web.listen, else 8025; 0 picks a free port */
  port?: number;
  /** Told of requests refused, changes made, errors (escaped, never a secret). */
  log?: (line: string) => void;
  /** Milliseconds between webhook queue runs. @default 15000 */
  webhookEveryMs?: number;
}

export interface RunningWeb extends RunningServer {
  site: Site;
}

/** `HOST:PORT` (or `[v6]:PORT`) of `web.listen`. */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^\s:]+):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[2]) : Number.NaN;
  if (!m || port > 65535) throw new Error(`expected HOST:PORT, got '${value}'`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

/** The webhook outbox worked every `everyMs`, one run at a time; stops with `stop()`. */
function webhookWorker(site: Site, everyMs: number, log: (line: string) => void) {
  let running = false;
  const tick = async () => {
    const outbox = site.current().runtime.webhooks;
    if (running || !outbox) return;
    running = true;
    try {
      const r = await outbox.run();
      if (r.deferred > 0 || r.failed > 0)
        log(`webhooks: ${r.delivered} delivered, ${r.deferred} deferred, ${r.failed} refused`);
    } catch (error) {
      log(`webhooks: ${(error as Error).message}`);
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void tick(), everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

export async function startWeb(options: StartWebOptions): Promise<RunningWeb> {
  const log = (line: string) => (options.log ?? (() => {}))(logSafe(line, 500));
  // Where to listen comes first: the public URL defaults to the listener's own.
  const web = (await loadConfig({ dir: options.dir, lists: false })).main?.web;
  const configured = web?.listen ? parseListen(web.listen) : undefined;
  let handle: ((request: Request, env: never) => Response | Promise<Response>) | undefined;
  const running = await listen({
    fetch: (request, env) =>
      handle ? handle(request, env) : new Response('starting\n', { status: 503 }),
    host: options.host ?? configured?.host ?? '127.0.0.1',
    port: options.port ?? configured?.port ?? 8025,
    ...(web?.max_connections ? { maxConnections: web.max_connections } : {}),
  });
  let site: Site;
  try {
    site = await openSite({ dir: options.dir, listenUrl: running.url });
  } catch (error) {
    await running.close();
    throw error;
  }
  const deps: WebDeps = {
    site,
    sessions: createSessions({
      secret: site.secret,
      dir: webDir(site),
      secure: site.baseUrl.startsWith('https:'),
      hours: site.sessionHours,
    }),
    limits: {
      perAddress: createRateLimiter({ max: 5, windowMs: 15 * 60_000 }),
      perIp: createRateLimiter({ max: 30, windowMs: 15 * 60_000 }),
    },
    log,
  };
  handle = createWebApp(deps).fetch as never;
  const worker = webhookWorker(site, options.webhookEveryMs ?? 15_000, log);
  return {
    ...running,
    site,
    close: async () => {
      worker.stop();
      await running.close();
      await site.close();
    },
  };
}

export interface ServeOptions {
  /** The lists served, by list name. */
  lists: Record<string, OneClickList>;
  /** The HMAC key of the tokens (the one that filled `{token}`). */
  secret: Buffer;
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @default 8025 */
  port?: number;
  /** Clients served at once; more are closed. @default 256 */
  maxConnections?: number;
  /** Time a client has to send its request header (slowloris). @default 10000 */
  headersTimeoutMs?: number;
  log?: (line: string) => void;
}

/** The one-click unsubscribe endpoint alone (RFC 8058), for the lists given. */
export function serve(options: ServeOptions): Promise<RunningServer> {
  const app = new Hono();
  app.use(securityHeaders());
  const routes = oneClickRoutes({
    secret: options.secret,
    list: (name) => (Object.hasOwn(options.lists, name) ? options.lists[name] : undefined),
    ...(options.log ? { log: options.log } : {}),
  });
  app.route('/unsubscribe', routes);
  app.route('/u', routes);
  return listen({
    fetch: app.fetch as never,
    ...(options.host ? { host: options.host } : {}),
    ...(options.maxConnections ? { maxConnections: options.maxConnections } : {}),
    ...(options.headersTimeoutMs ? { headersTimeoutMs: options.headersTimeoutMs } : {}),
    port: options.port ?? 8025,
  });
}
