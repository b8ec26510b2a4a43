/**
 * The HTTP listener under the web app: node:http with Hono's request listener, and the
 * limits a small server facing a reverse proxy needs — a cap on open connections, a
 * deadline for the request head and for the whole request, and bodies refused past a size
 * (the app's own limit). Log lines are escaped: a path from the network never writes a
 * control character into the operator's log.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { getRequestListener } from '@hono/node-server';

export interface ListenOptions {
  /** What answers requests (a Hono app's `fetch`). */
  fetch: (request: Request, env: never) => Response | Promise<Response>;
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @default 8025 */
  port?: number;
  /** Open connections at most; more are closed at once. @default 256 */
  maxConnections?: number;
  /** Milliseconds for the request head. @default 10000 */
  headersTimeoutMs?: number;
  /** Milliseconds for a whole request (a CSV upload included). @default 60000 */
  requestTimeoutMs?: number;
}

export interface RunningServer {
  server: Server;
  port: number;
  /** `http://HOST:PORT` */
  url: string;
  close(): Promise<void>;
}

/** `text` with control characters and non-ASCII shown as escapes, at most `max` long. */
export function logSafe(text: string, max = 300): string {
  const shown = text.slice(0, max).replace(/[^\x20-\x7e]/g, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`;
  });
  return text.length > max ? `${shown}…` : shown;
}

/** Starts listening; resolves once the socket is bound. */
export async function listen(options: ListenOptions): Promise<RunningServer> {
  const listener = getRequestListener(options.fetch as never, {
    errorHandler: () => new Response('internal error\n', { status: 500 }),
  });
  const server = createServer(listener);
  server.maxConnections = options.maxConnections ?? 256;
  server.headersTimeout = options.headersTimeoutMs ?? 10_000;
  server.requestTimeout = options.requestTimeoutMs ?? 60_000;
  server.keepAliveTimeout = 5_000;
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8025, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port, address } = server.address() as AddressInfo;
  return {
    server,
    port,
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        for (const socket of sockets) socket.destroy();
      }),
  };
}
