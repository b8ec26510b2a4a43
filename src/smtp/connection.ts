/**
 * One SMTP client connection for the bulk path: connect (TCP_NODELAY), greeting, EHLO
 * (HELO as a fallback), STARTTLS, AUTH PLAIN/LOGIN, then commands written as the caller
 * likes (pipelined or not) and replies read back in order. Every wait has a deadline; any
 * failure destroys the connection and rejects every waiting reply with the same error, so
 * the caller can tell exactly which answers it never got.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import type { TLSSocket, ConnectionOptions as TlsConnectOptions } from 'node:tls';
import { certificateAdvice } from '../errors.ts';
import { type Reply, ReplyParser } from './reply-reader.ts';

/**
 * node:tls's connect, loaded by the first TLS connection or STARTTLS: a process that only
 * speaks plain SMTP (`malist receive` handing a post to the local Postfix on port 25) does
 * not load node:tls and its secure-context modules (~1–2 ms of each process's start).
 */
function tlsConnect(options: TlsConnectOptions): TLSSocket {
  return (createRequire(import.meta.url)('node:tls') as typeof import('node:tls')).connect(options);
}

export interface ConnectionOptions {
  host: string;
  port: number;
  /** Implicit TLS from the first byte. */
  secure: boolean;
  /** STARTTLS policy when not `secure`. */
  starttls: 'required' | 'opportunistic' | 'never';
  tls?: { ca?: string | Buffer; reject_unauthorized?: boolean; servername?: string };
  auth?: { user: string; pass: string; method?: string };
  /** EHLO name. */
  name: string;
  connection_timeout_ms: number;
  greeting_timeout_ms: number;
  /** Deadline for each command's reply, and for silence on the socket at any time. */
  socket_timeout_ms: number;
}

/** A failure of the conversation: a reply that ends it, a timeout, or the network. */
export class SmtpError extends Error {
  /** The reply code, when a reply caused it. */
  readonly responseCode: number | undefined;
  /** The reply, when a reply caused it. */
  readonly response: string | undefined;
  constructor(message: string, reply?: Reply, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SmtpError';
    this.responseCode = reply?.code;
    this.response = reply?.text;
  }
}

interface Waiter {
  resolve(reply: Reply): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout | undefined;
}

export class SmtpConnection {
  #socket: Socket | TLSSocket;
  #parser = new ReplyParser();
  #replies: Reply[] = [];
  #waiters: Waiter[] = [];
  #failure: Error | undefined;
  #options: ConnectionOptions;
  /** EHLO keywords (upper case) and their parameters. */
  extensions = new Map<string, string>();
  /** Transactions finished on this connection (the server's final reply received). */
  transactions = 0;
  /** The server may be in the middle of a transaction: the next one starts with RSET. */
  dirty = false;

  private constructor(socket: Socket | TLSSocket, options: ConnectionOptions) {
    this.#socket = socket;
    this.#options = options;
    this.#attach(socket);
  }

  /** Opens a connection and gets it ready for MAIL (greeting, EHLO, STARTTLS, AUTH). */
  static async open(options: ConnectionOptions): Promise<SmtpConnection> {
    const socket = await connectSocket(options);
    const conn = new SmtpConnection(socket, options);
    try {
      await conn.#handshake();
      return conn;
    } catch (error) {
      conn.destroy(error as Error);
      throw error;
    }
  }

  get alive(): boolean {
    return this.#failure === undefined && !this.#socket.destroyed;
  }

  get pipelining(): boolean {
    return this.extensions.has('PIPELINING');
  }

  /** The server's SIZE limit, when it announced one (0 means no limit). */
  get maxSize(): number | undefined {
    const size = this.extensions.get('SIZE');
    if (size === undefined) return undefined;
    const n = Number(size);
    return Number.isFinite(n) && n > 0 ? n : undefined;
  }

  /** Writes bytes as they are; returns false when the socket's buffer is full. */
  write(data: string | Buffer): boolean {
    if (!this.alive) return false;
    return this.#socket.write(data);
  }

  /** Resolves when the socket's buffer has room again, or the connection is gone. */
  drained(): Promise<void> {
    if (!this.alive || !this.#socket.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.#socket.off('drain', done);
        this.#socket.off('close', done);
        resolve();
      };
      this.#socket.on('drain', done);
      this.#socket.on('close', done);
    });
  }

  /** Writes several buffers in one go (one writev on the socket). */
  writeAll(parts: ReadonlyArray<string | Buffer>): void {
    if (!this.alive) return;
    this.#socket.cork();
    for (const part of parts) this.#socket.write(part);
    this.#socket.uncork();
  }

  /** The next reply, in the order replies arrive; rejects after `timeoutMs` or on failure. */
  reply(timeoutMs = this.#options.socket_timeout_ms, what = 'a reply'): Promise<Reply> {
    const ready = this.#replies.shift();
    if (ready) return Promise.resolve(ready);
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise<Reply>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timer: undefined };
      waiter.timer = setTimeout(() => {
        this.destroy(new SmtpError(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  /** Sends a command and waits for its reply. */
  async command(line: string, timeoutMs?: number): Promise<Reply> {
    this.write(`${line}\r\n`);
    return this.reply(timeoutMs, `the reply to ${line.split(' ')[0]}`);
  }

  /** QUIT, politely but briefly; the connection is gone afterwards. */
  async close(): Promise<void> {
    if (!this.alive) return;
    try {
      await this.command('QUIT', Math.min(this.#options.socket_timeout_ms, 2000));
    } catch {}
    this.destroy();
  }

  /** Ends the connection at once; every waiting reply is rejected with `error`. */
  destroy(error?: Error): void {
    this.#failure ??= error ?? new SmtpError('the connection was closed');
    this.#socket.destroy();
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) {
      clearTimeout(w.timer);
      w.reject(this.#failure);
    }
  }

  #attach(socket: Socket | TLSSocket): void {
    socket.on('data', (chunk: Buffer) => {
      try {
        this.#parser.push(chunk, (reply) => this.#deliver(reply));
      } catch (error) {
        this.destroy(new SmtpError((error as Error).message));
      }
    });
    socket.on('error', (error) =>
      this.destroy(new SmtpError(`network error: ${error.message}`, undefined, { cause: error })),
    );
    socket.on('close', () => this.destroy(new SmtpError('the server closed the connection')));
    // Silence at any phase (a server that stops reading our DATA, or stops answering).
    socket.setTimeout(this.#options.socket_timeout_ms, () =>
      this.destroy(
        new SmtpError(`no activity on the connection for ${this.#options.socket_timeout_ms} ms`),
      ),
    );
  }

  #deliver(reply: Reply): void {
    // 421: the server is closing the channel; everything still unanswered is lost.
    if (reply.code === 421) {
      this.destroy(new SmtpError(`the server is closing the connection: ${reply.text}`, reply));
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.resolve(reply);
    } else this.#replies.push(reply);
  }

  async #handshake(): Promise<void> {
    const o = this.#options;
    const greeting = await this.reply(o.greeting_timeout_ms, 'the greeting');
    if (greeting.code !== 220)
      throw new SmtpError(`the server refused the connection: ${greeting.text}`, greeting);
    await this.#ehlo();
    if (!o.secure && o.starttls !== 'never') {
      if (this.extensions.has('STARTTLS')) {
        await this.#starttls();
        await this.#ehlo();
      } else if (o.starttls === 'required') {
        throw new SmtpError('the server does not offer STARTTLS, and `starttls: required` is set');
      }
    }
    if (o.auth) await this.#authenticate(o.auth);
  }

  async #ehlo(): Promise<void> {
    let reply = await this.command(`EHLO ${this.#options.name}`);
    this.extensions = new Map();
    if (reply.code !== 250) {
      reply = await this.command(`HELO ${this.#options.name}`);
      if (reply.code !== 250)
        throw new SmtpError(`the server refused EHLO and HELO: ${reply.text}`, reply);
      return;
    }
    for (const line of reply.lines.slice(1)) {
      const [keyword = '', ...rest] = line.trim().split(/\s+/);
      this.extensions.set(keyword.toUpperCase(), rest.join(' '));
    }
  }

  async #starttls(): Promise<void> {
    const reply = await this.command('STARTTLS');
    if (reply.code !== 220) throw new SmtpError(`STARTTLS refused: ${reply.text}`, reply);
    const plain = this.#socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    plain.removeAllListeners('error');
    plain.setTimeout(0);
    const secure = await upgrade(plain, this.#options);
    this.#socket = secure;
    this.#parser = new ReplyParser();
    this.#attach(secure);
  }

  async #authenticate(auth: NonNullable<ConnectionOptions['auth']>): Promise<void> {
    const offered = (this.extensions.get('AUTH') ?? '').toUpperCase().split(/\s+/);
    const method = (auth.method ?? (offered.includes('PLAIN') ? 'PLAIN' : 'LOGIN')).toUpperCase();
    if (!this.extensions.has('AUTH')) throw new SmtpError('the server does not offer AUTH');
    const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
    let reply: Reply;
    if (method === 'PLAIN') {
      reply = await this.command(`AUTH PLAIN ${b64(`\0${auth.user}\0${auth.pass}`)}`);
    } else if (method === 'LOGIN') {
      reply = await this.command('AUTH LOGIN');
      if (reply.code === 334) reply = await this.command(b64(auth.user));
      if (reply.code === 334) reply = await this.command(b64(auth.pass));
    } else {
      throw new SmtpError(`AUTH method ${method} is not supported (PLAIN, LOGIN)`);
    }
    // The reply is quoted, never the credentials.
    if (reply.code !== 235) throw new SmtpError(`authentication failed: ${reply.text}`, reply);
  }
}

/** A CA given as PEM text is used as it is; anything else is the path of a PEM file (as in distributors/smtp.ts). */
function caOf(ca: string | Buffer): string | Buffer {
  return typeof ca === 'string' && !ca.includes('-----BEGIN') ? readFileSync(ca) : ca;
}

function tlsOptions(o: ConnectionOptions) {
  const servername = o.tls?.servername ?? (isIP(o.host) ? undefined : o.host);
  return {
    ...(o.tls?.ca ? { ca: caOf(o.tls.ca) } : {}),
    ...(servername ? { servername } : {}),
    rejectUnauthorized: o.tls?.reject_unauthorized ?? true,
  };
}

function withTimeout<T extends Socket>(
  socket: T,
  event: string,
  ms: number,
  what: string,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new SmtpError(`timed out after ${ms} ms ${what}`));
    }, ms);
    socket.once(event, () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      socket.destroy();
      // A certificate nobody trusts says how to trust it (`ca_file`), wherever it is shown.
      const text = certificateAdvice(error) ?? error.message;
      reject(new SmtpError(`${what} failed: ${text}`, undefined, { cause: error }));
    });
  });
}

async function connectSocket(o: ConnectionOptions): Promise<Socket | TLSSocket> {
  const what = `connecting to ${o.host}:${o.port}`;
  const socket = o.secure
    ? await withTimeout(
        tlsConnect({ host: o.host, port: o.port, ...tlsOptions(o) }),
        'secureConnect',
        o.connection_timeout_ms,
        what,
      )
    : await withTimeout(
        netConnect({ host: o.host, port: o.port }),
        'connect',
        o.connection_timeout_ms,
        what,
      );
  // Small commands must not wait for a delayed ACK (mlmmj's 40 ms per message, issue 9).
  socket.setNoDelay(true);
  return socket;
}

function upgrade(plain: Socket, o: ConnectionOptions): Promise<TLSSocket> {
  const secure = tlsConnect({ socket: plain, ...tlsOptions(o) });
  return withTimeout(secure, 'secureConnect', o.connection_timeout_ms, 'the TLS handshake');
}
