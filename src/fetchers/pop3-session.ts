/**
 * One POP3 session on node-pop3, with what the library lacks for mail that must not be lost
 * or altered (node-pop3 0.11; each workaround says where):
 * - byte-exact RETR: its stream mode passes raw chunks and finds the terminator only when a
 *   chunk ends with it (a split ".\r\n" hangs), and its string mode decodes as UTF-8. We
 *   override `_updateStream`/`_pushStream` to feed a `DotUnstuffer` (with backpressure);
 * - STLS: not implemented; we send it and wrap the socket in TLS ourselves (`upgrade()`);
 * - a server that closes or a socket that times out mid-command leaves its promise pending
 *   for ever, and an error while a stream is active is emitted with no listener (crashing
 *   the process): every command here races the socket's `close`, and we keep a listener;
 * - `_connect()` silently reconnects and logs in again when the socket died: we never call
 *   the high-level methods, only `command()`, so a dead session stays dead.
 * - its reply parser assumes a status line ("+OK …") arrives within one read: a line split
 *   across reads is misparsed. `wholeLines()` holds bytes back until the line is complete.
 * Known limit kept from the library: a message body whose very first byte is NUL loses it.
 */
import { createWriteStream } from 'node:fs';
import { isIP, type Socket } from 'node:net';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type TLSSocket, type TlsOptions, connect as tlsConnect } from 'node:tls';
import Pop3Command from 'node-pop3';
import { DotUnstuffer } from './pop3-dot-stream.ts';

export type Pop3TlsMode = 'implicit' | 'starttls' | 'none';

export interface Pop3SessionOptions {
  host: string;
  port: number;
  tls: Pop3TlsMode;
  user: string;
  password: string;
  /** PEM text of the CA(s) to trust instead of the system store. */
  ca?: string;
  servername?: string;
  /** false: accept any certificate (tests only). @default true */
  rejectUnauthorized?: boolean;
  /** Socket inactivity limit, and the limit for connecting, in ms. */
  timeout: number;
}

/** Which step failed: lets the fetcher name the problem (credentials vs. STLS vs. network). */
export class Pop3StepError extends Error {
  constructor(
    readonly step: 'connect' | 'stls' | 'tls' | 'auth' | 'command' | 'size',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** node-pop3 with a byte-exact, backpressured multi-line reader. */
class ExactPop3 extends Pop3Command {
  private unstuffer: DotUnstuffer | undefined;

  // Workaround: replaces node-pop3's stream so the socket pauses when the reader is slow.
  override _updateStream(): Readable {
    this.unstuffer = new DotUnstuffer();
    this._stream = new Readable({ read: () => void this._socket?.resume() });
    return this._stream;
  }

  // Workaround: node-pop3 only finds a terminator at the end of one chunk and never unstuffs.
  override _pushStream(buffer: Buffer): void {
    const stream = this._stream;
    const parser = this.unstuffer;
    if (!stream || !parser) return;
    const { data, done } = parser.push(buffer);
    let more = true;
    for (const piece of data) if (piece.length > 0) more = stream.push(piece);
    if (done) {
      this.unstuffer = undefined;
      this._endStream();
    } else if (!more) {
      this._socket?.pause();
    }
  }
}

type DataListener = (buffer: Buffer) => void;

// Workaround: node-pop3 reads a status line from the first bytes of one 'data' event. Outside
// a multi-line body, bytes are held until a line is complete, then handed over at once.
function wholeLines(conn: Pop3Command, listeners: DataListener[]): DataListener {
  let pending: Buffer | undefined;
  const forward = (data: Buffer) => {
    for (const listener of listeners) listener(data);
  };
  return (chunk: Buffer) => {
    if (conn._stream) {
      forward(chunk);
      return;
    }
    const data = pending ? Buffer.concat([pending, chunk]) : chunk;
    if (data.indexOf(0x0a) === -1) {
      if (data.length > 64 * 1024) {
        pending = undefined;
        conn._socket?.destroy(new Error('the server sent a status line longer than 64 KiB'));
        return;
      }
      pending = data;
      return;
    }
    pending = undefined;
    forward(data);
  };
}

function sniName(options: Pop3SessionOptions): string | undefined {
  const name = options.servername ?? options.host;
  return isIP(name) ? undefined : name;
}

function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export class Pop3Session {
  private readonly conn: ExactPop3;
  private deadError: Error | undefined;
  private rejectDead: ((error: Error) => void) | undefined;
  /** Rejects when the connection is gone; every command races it. */
  private readonly dead: Promise<never>;

  private constructor(private readonly options: Pop3SessionOptions) {
    this.conn = new ExactPop3({
      host: options.host,
      port: options.port,
      user: options.user,
      password: options.password,
      tls: options.tls === 'implicit',
      // SNI must not carry an IP address (RFC 6066); node-pop3 would send `host` as is.
      // (tlsOptions are spread after its servername, so this one wins.)
      tlsOptions: {
        ca: options.ca,
        rejectUnauthorized: options.rejectUnauthorized ?? true,
        servername: sniName(options),
      } as TlsOptions,
    });
    // node-pop3 emits 'error' with nobody listening while a stream is active: keep one.
    this.conn.on('error', () => {});
    this.dead = new Promise<never>((_, reject) => {
      this.rejectDead = reject;
    });
    this.dead.catch(() => {});
  }

  /** Connects, upgrades with STLS when asked, and logs in. */
  static async open(options: Pop3SessionOptions): Promise<Pop3Session> {
    const session = new Pop3Session(options);
    try {
      await session.start();
    } catch (error) {
      session.destroy();
      throw error;
    }
    return session;
  }

  /** True while the connection is up. */
  get alive(): boolean {
    return this.deadError === undefined;
  }

  private watch(socket: Socket | TLSSocket): void {
    let lastError: Error | undefined;
    socket.on('error', (error) => {
      lastError = error;
    });
    // Armed while we wait for the server (see busy()); quiet between commands is fine.
    socket.setTimeout(this.options.timeout);
    socket.on('timeout', () => {
      socket.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' }));
    });
    socket.once('close', () => {
      if (this.conn._socket && this.conn._socket !== socket) return; // replaced by STLS
      this.markDead(lastError ?? new Error('the server closed the connection'));
    });
  }

  private markDead(error: Error): void {
    if (this.deadError) return;
    this.deadError = error;
    this.conn._stream?.destroy(error);
    this.rejectDead?.(error);
  }

  private async start(): Promise<void> {
    const { options } = this;
    const connecting = this.conn.connect();
    // connect() has set _socket and its listeners synchronously: wrap and watch it now.
    const socket = this.conn._socket;
    if (socket) {
      const listeners = socket.listeners('data') as DataListener[];
      for (const listener of listeners) socket.removeListener('data', listener);
      socket.on('data', wholeLines(this.conn, listeners));
      this.watch(socket);
    }
    try {
      await withTimeout(connecting, options.timeout, () =>
        Object.assign(new Error('timed out waiting for the greeting'), { code: 'ETIMEDOUT' }),
      );
    } catch (error) {
      throw new Pop3StepError(options.tls === 'implicit' ? 'tls' : 'connect', 'connect failed', {
        cause: error,
      });
    }
    if (options.tls === 'starttls') {
      try {
        await this.command('STLS');
      } catch (error) {
        throw new Pop3StepError('stls', 'the server refused STLS', { cause: error });
      }
      await this.upgrade();
    }
    try {
      await this.command('USER', options.user);
      await this.command('PASS', options.password);
    } catch (error) {
      if (!this.alive) throw error;
      throw new Pop3StepError('auth', 'login refused', { cause: error });
    }
    this.conn._socket?.setTimeout(0);
  }

  // Workaround: node-pop3 has no STLS. Its socket listeners (closures in connect()) move to
  // the TLS socket, which then becomes `_socket` for every later command.
  private async upgrade(): Promise<void> {
    const plain = this.conn._socket as Socket;
    const dataListeners = plain.listeners('data') as DataListener[];
    for (const listener of dataListeners) plain.removeListener('data', listener);
    plain.setTimeout(0);
    const secure = tlsConnect({
      socket: plain,
      servername: sniName(this.options),
      ca: this.options.ca,
      rejectUnauthorized: this.options.rejectUnauthorized ?? true,
    });
    try {
      await withTimeout(
        Promise.race([
          new Promise<void>((resolve, reject) => {
            secure.once('secureConnect', resolve);
            secure.once('error', reject);
          }),
          this.dead,
        ]),
        this.options.timeout,
        () => Object.assign(new Error('TLS handshake timed out'), { code: 'ETIMEDOUT' }),
      );
    } catch (error) {
      secure.destroy();
      throw new Pop3StepError('tls', 'STLS upgrade failed', { cause: error });
    }
    for (const listener of dataListeners) secure.on('data', listener);
    this.conn._socket = secure;
    this.watch(secure);
  }

  /** Sends one command; resolves with the status text and, for multi-line replies, the body. */
  /**
   * Runs one exchange with the inactivity timeout armed. Between exchanges it is off: the
   * pipeline may take its time with a mail before acking it.
   */
  private async busy<T>(exchange: () => Promise<T>): Promise<T> {
    this.conn._socket?.setTimeout(this.options.timeout);
    try {
      return await exchange();
    } finally {
      this.conn._socket?.setTimeout(0);
    }
  }

  private async command(...args: (string | number)[]): Promise<[string, Readable | null]> {
    if (this.deadError) throw this.deadError;
    return Promise.race([this.conn.command(...args), this.dead]);
  }

  /** UIDL: message number → unique id. */
  async uidl(): Promise<Map<number, string>> {
    return this.busy(() => this.listing('UIDL', (value) => value));
  }

  /** LIST: message number → size in octets. */
  async list(): Promise<Map<number, number>> {
    return this.busy(() => this.listing('LIST', Number));
  }

  private async listing<T>(cmd: string, convert: (value: string) => T): Promise<Map<number, T>> {
    const [, stream] = await this.command(cmd);
    if (!stream) throw new Pop3StepError('command', `${cmd} answered without a listing`);
    const text = (await Promise.race([readAll(stream), this.dead])).toString('latin1');
    const result = new Map<number, T>();
    for (const line of text.split(/\r?\n/)) {
      const [number, value] = line.trim().split(/\s+/);
      if (number && value !== undefined) result.set(Number(number), convert(value));
    }
    return result;
  }

  /**
   * RETR into a new file at `path`, byte-exact; fails (and ends the session, which cannot
   * resynchronise mid-message) when more than `maxBytes` arrive. Returns the size.
   */
  async retrieveToFile(n: number, path: string, maxBytes: number): Promise<number> {
    return this.busy(() => this.retrieve(n, path, maxBytes));
  }

  private async retrieve(n: number, path: string, maxBytes: number): Promise<number> {
    const [, stream] = await this.command('RETR', n);
    if (!stream) throw new Pop3StepError('command', 'RETR answered without a message');
    let size = 0;
    const guard = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        size += chunk.length;
        if (size > maxBytes) {
          callback(new Pop3StepError('size', `message ${n} exceeds ${maxBytes} bytes`));
        } else callback(null, chunk);
      },
    });
    try {
      await Promise.race([
        pipeline(stream, guard, createWriteStream(path, { flags: 'wx', mode: 0o600 })),
        this.dead,
      ]);
    } catch (error) {
      this.destroy();
      throw error;
    }
    return size;
  }

  async dele(n: number): Promise<void> {
    await this.busy(() => this.command('DELE', n));
  }

  /** QUIT commits the deletions; then the connection is closed. */
  async quit(): Promise<void> {
    try {
      await this.busy(() => this.command('QUIT'));
    } finally {
      this.destroy();
    }
  }

  /** Drops the connection without QUIT: the server rolls back this session's DELEs. */
  destroy(): void {
    this.markDead(new Error('session closed'));
    this.conn._socket?.destroy();
  }
}
