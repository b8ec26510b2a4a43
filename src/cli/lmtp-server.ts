/**
 * The LMTP intake behind `malist lmtp`: one long-running process the MTA delivers list mail
 * to (Postfix `lmtp:inet:127.0.0.1:2424` or `lmtp:unix:…`, Exim's `lmtp` transport), instead
 * of a `malist receive` process per mail. Each mail takes the receive path (`intake.ts`): the
 * list is found by the envelope recipient exactly as `receive --recipient RCPT` finds it, and
 * each recipient's LMTP reply (RFC 2033: one per accepted RCPT after the data) is the receive
 * exit code it would have had — 250 handled, 550 5.1.1 unknown list (already at RCPT TO),
 * 451 4.3.0 temporary (the state directory is unusable, a storage error, anything
 * unforeseen: the MTA keeps the mail and retries; the journal sends nothing twice), 554 5.6.0
 * unusable input, 552 over the size limit.
 *
 * The configuration is read once; a change in malist.yaml's folder or the lists folder (a
 * subscription by mail, `malist members add`) or SIGHUP reloads it before the next mail. A
 * configuration that no longer loads keeps the previous one running, with the problems on
 * stderr. The runtime (state directory, queue) is built on the first mail and rebuilt after a
 * reload; while it cannot be built, every mail gets 451 and the next one tries again.
 *
 * Mails are handled one at a time, in the order their data ended: one play() at a time over
 * one runtime, as `malist run` has it. The MTA's other connections wait (Postfix waits up to
 * `lmtp_data_done_timeout`, 600 s).
 */
import { type FSWatcher, watch as watchDir } from 'node:fs';
import { chmod, lstat, unlink } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { MAIN_FILE } from '../config/load.ts';
import { describeError } from '../errors.ts';
import { EX } from './exit-codes.ts';
import {
  type Envelope,
  handleMail,
  type Intake,
  isOutcome,
  MAX_SIZE,
  type Opened,
  type Outcome,
  openIntake,
  routeMail,
  startIntake,
} from './intake.ts';

export interface LmtpOptions {
  /** `HOST:PORT` (`[::1]:PORT` for IPv6; port 0: any free one) or `unix:/path/to/socket`. */
  listen: string;
  /** The configuration directory. @default the working directory */
  config?: string;
  /** The largest mail taken, bytes (advertised as SIZE; larger is refused with 552). @default 50 MiB */
  maxSize?: number;
  /** Connections at once; more get 421. @default 20 */
  maxConnections?: number;
  /** A connection silent this long is closed, ms. @default 120000 */
  timeoutMs?: number;
  /** The mode of a unix socket. @default 0o660 */
  socketMode?: number;
  /** How long SIGTERM waits for open connections before closing them, ms. @default 10000 */
  closeTimeoutMs?: number;
  /** Where problems and refusals are written. @default process.stderr */
  log?: (line: string) => void;
}

export interface LmtpServer {
  /** Where it listens: `127.0.0.1:2424` or `unix:/path`. */
  address: string;
  /** Reloads the configuration now (SIGHUP); false when it did not load (the old one stays). */
  reload(): Promise<boolean>;
  /** Stops taking mail, finishes the mail in hand, closes the runtime. */
  close(): Promise<void>;
}

/**
 * The LMTP reply of one recipient for a receive outcome (its sysexits code). smtp-server
 * adds the enhanced status code (RFC 3463) by the reply code: 2.6.0, 5.1.1, 5.6.0, 4.3.0.
 */
export function lmtpReply(outcome: Outcome): { code: number; text: string } {
  const text = outcome.text.replace(/\s+/g, ' ').slice(0, 400);
  switch (outcome.code) {
    case EX.OK:
      return { code: 250, text };
    case EX.NOUSER:
      return { code: 550, text };
    case EX.DATAERR:
      return { code: 554, text };
    default:
      // TEMPFAIL, and a configuration error: deferred, never bounced (as --defer-config-errors).
      return { code: 451, text };
  }
}

/** `HOST:PORT` or `unix:PATH` as net.Server.listen takes it. */
export function parseListen(value: string): { path: string } | { host: string; port: number } {
  if (value.startsWith('unix:')) {
    const path = value.slice('unix:'.length);
    if (!path.startsWith('/'))
      throw new Error(`--listen ${value}: a unix socket needs an absolute path`);
    return { path };
  }
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535)
    throw new Error(
      `--listen ${value}: expected HOST:PORT (127.0.0.1:2424, [::1]:2424) or unix:/path/to/socket`,
    );
  return { host: (m[1] ?? m[2])!, port };
}

/** An LMTP error reply for smtp-server's callbacks. */
function replyError(reply: { code: number; text: string }): Error {
  return Object.assign(new Error(reply.text), { responseCode: reply.code });
}

/** The message, or nothing once it is over the size limit (the rest is drained, not kept). */
async function readAll(stream: SMTPServerDataStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) if (!stream.sizeExceeded) chunks.push(chunk as Buffer);
  return stream.sizeExceeded ? Buffer.alloc(0) : Buffer.concat(chunks);
}

/** The envelope of an LMTP transaction: its sender and, from XFORWARD, the MTA's client. */
function envelopeOf(session: SMTPServerSession): Envelope {
  const from = session.envelope.mailFrom;
  const ip = String(session.xForward?.get('ADDR') || '');
  const helo = String(session.xForward?.get('HELO') || '');
  const known = (v: string) => v !== '' && v.toUpperCase() !== '[UNAVAILABLE]';
  return {
    ...(from ? { sender: from.address } : {}),
    ...(known(ip) ? { client: { ip, ...(known(helo) ? { helo } : {}) } } : {}),
  };
}

/** Removes a stale socket left by a previous run; refuses to remove anything else. */
async function clearSocket(path: string): Promise<void> {
  const found = await lstat(path).catch(() => undefined);
  if (!found) return;
  if (!found.isSocket()) throw new Error(`--listen unix:${path}: exists and is not a socket`);
  await unlink(path);
}

/**
 * Starts the intake; rejects when the configuration has problems (`code` EX.CONFIG, the
 * problems written to the log) or the address cannot be listened on.
 */
export async function startLmtp(options: LmtpOptions): Promise<LmtpServer> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const listen = parseListen(options.listen);
  const first = await openIntake(options.config, log);
  if (isOutcome(first)) throw Object.assign(new Error(first.text), { exitCode: first.code });
  const state = new IntakeState(first, options.config, log);
  const server = new SMTPServer({
    lmtp: true,
    name: 'malist',
    banner: 'malist LMTP',
    logger: false,
    disabledCommands: ['AUTH', 'STARTTLS'],
    hideENHANCEDSTATUSCODES: false,
    useXForward: true,
    size: options.maxSize ?? MAX_SIZE,
    rejectOversized: true,
    maxClients: options.maxConnections ?? 20,
    socketTimeout: options.timeoutMs ?? 120_000,
    closeTimeout: options.closeTimeoutMs ?? 10_000,
    onMailFrom(_address, _session, callback) {
      if (state.stopping)
        return callback(replyError({ code: 421, text: 'shutting down, try again later' }));
      callback();
    },
    onRcptTo(address, _session, callback) {
      state
        .current()
        .then((opened) => {
          const route = routeMail(opened.plans, { recipient: address.address });
          callback(isOutcome(route) ? replyError(lmtpReply(route)) : undefined);
        })
        .catch((error: unknown) => callback(replyError({ code: 451, text: describeError(error) })));
    },
    onData(stream, session, callback) {
      readAll(stream)
        .then((raw) => {
          if (stream.sizeExceeded) return callback(null, 'oversized');
          return state.deliver(raw, session).then((replies) =>
            callback(
              null,
              replies.map((r) => (r.code === 250 ? r.text : replyError(r))),
            ),
          );
        })
        .catch((error: unknown) => callback(replyError({ code: 451, text: describeError(error) })));
    },
  });
  server.on('error', (error) => log(`malist lmtp: ${describeError(error)}`));
  if ('path' in listen) await clearSocket(listen.path);
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(
      'path' in listen ? { path: listen.path } : { host: listen.host, port: listen.port },
      () => {
        server.server.off('error', reject);
        resolve();
      },
    );
  });
  if ('path' in listen) await chmod(listen.path, options.socketMode ?? 0o660);
  const bound = server.server.address() as AddressInfo | string;
  const address =
    typeof bound === 'string'
      ? `unix:${bound}`
      : `${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
  state.watch();
  return {
    address,
    reload: () => state.reload(),
    async close() {
      state.stopping = true;
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await state.close();
    },
  };
}

/**
 * The configuration and runtime the server works with, and the one-at-a-time order of
 * mails and reloads.
 */
class IntakeState {
  stopping = false;
  private intake: Intake | undefined;
  private stale = false;
  private chain: Promise<unknown> = Promise.resolve();
  private watchers: FSWatcher[] = [];

  constructor(
    public opened: Opened,
    private readonly dir: string | undefined,
    private readonly log: (line: string) => void,
  ) {}

  /** Runs `task` after every earlier mail and reload. */
  private serial<T>(task: () => Promise<T>): Promise<T> {
    const next = this.chain.then(task);
    this.chain = next.catch(() => {});
    return next;
  }

  /**
   * Marks the configuration stale when malist.yaml or a file in the lists folder changes
   * (not the logs, maildirs or state that may sit beside malist.yaml).
   */
  watch(): void {
    const { dir, main } = this.opened.config;
    const folders = new Map<string, (name: string) => boolean>([
      [dir, (name) => name === MAIN_FILE],
    ]);
    const inLists = (name: string) => !name.startsWith('.');
    folders.set(main.lists_dir, main.lists_dir === dir ? (n) => /\.ya?ml$/.test(n) : inLists);
    for (const [folder, matters] of folders) {
      try {
        const watcher = watchDir(folder, { persistent: false }, (_event, name) => {
          if (name === null || matters(String(name))) this.stale = true;
        });
        watcher.on('error', () => {});
        this.watchers.push(watcher);
      } catch (error) {
        this.log(`malist lmtp: cannot watch ${folder} (${describeError(error)}); SIGHUP reloads`);
      }
    }
  }

  /** The configuration to route by: reloaded first when a file of it changed. */
  async current(): Promise<Opened> {
    if (this.stale)
      await this.serial(() => (this.stale ? this.reloadNow() : Promise.resolve(true)));
    return this.opened;
  }

  reload(): Promise<boolean> {
    return this.serial(() => this.reloadNow());
  }

  private async reloadNow(): Promise<boolean> {
    this.stale = false;
    const opened = await openIntake(this.dir, this.log);
    if (isOutcome(opened)) {
      this.log(
        'malist lmtp: the configuration has problems (above); still running the previous one',
      );
      return false;
    }
    await this.intake?.close().catch(() => {});
    this.intake = undefined;
    this.opened = opened;
    for (const w of this.watchers) w.close();
    this.watchers = [];
    this.watch();
    return true;
  }

  /** One reply per recipient of `session`, in order: each a mail as receive handles it. */
  deliver(raw: Buffer, session: SMTPServerSession): Promise<{ code: number; text: string }[]> {
    return this.serial(async () => {
      if (this.stale) await this.reloadNow();
      const replies: { code: number; text: string }[] = [];
      for (const rcpt of session.envelope.rcptTo) {
        const outcome = await this.deliverTo(raw, rcpt.address, envelopeOf(session));
        const reply = lmtpReply(outcome);
        if (reply.code !== 250)
          this.log(`malist lmtp: <${rcpt.address}>: ${reply.code} ${reply.text}`);
        replies.push(reply);
      }
      return replies;
    });
  }

  private async deliverTo(raw: Buffer, recipient: string, envelope: Envelope): Promise<Outcome> {
    const route = routeMail(this.opened.plans, { recipient });
    if (isOutcome(route)) return route;
    if (!this.intake) {
      const started = await startIntake(this.opened);
      if (isOutcome(started)) return started;
      this.intake = started;
    }
    const outcome = await handleMail(this.intake, route, envelope, raw, {
      warn: (text) => this.log(`malist lmtp: ${text}`),
    });
    if (outcome.code !== EX.OK) {
      // A runtime that failed once (the disk, the state directory) is built afresh next time.
      await this.intake.close().catch(() => {});
      this.intake = undefined;
    }
    return outcome;
  }

  /** After the mail in hand: the runtime closed, the watchers gone. */
  async close(): Promise<void> {
    await this.serial(async () => {
      for (const w of this.watchers) w.close();
      await this.intake?.close().catch(() => {});
      this.intake = undefined;
    });
  }
}
