/**
 * `malist watch`: a long-running loop that runs the pipeline as soon as mail arrives. It keeps
 * its own IMAP connection in IDLE on the mailbox (imapflow) and calls `runOnce()` — usually
 * play() with an imap fetcher on its own connection — at start, whenever the server reports
 * new mail, and every `pollInterval` in case a notification was missed.
 *
 * A NOOP every `heartbeat` ms must be answered within `heartbeatTimeout`: a connection that
 * went silent (NAT timeout, half-open TCP) is found dead and replaced, with a growing delay
 * between attempts. Aborting `signal` (SIGTERM in the CLI) lets the run in hand finish —
 * play() stops before its next fetch — and then resolves.
 */
import { readFile } from 'node:fs/promises';
import type { ImapFlow } from 'imapflow';
import { describeError, StageError } from '../errors.ts';
import { imapClientOptions, imapError, loadImapFlow } from '../imap/session.ts';
import type { ImapOptions } from './imap.ts';

export interface WatchOptions {
  /** The server and mailbox to watch: the imap fetcher's connection options. */
  imap: Pick<
    ImapOptions,
    'host' | 'port' | 'tls' | 'caFile' | 'servername' | 'user' | 'password' | 'mailbox' | 'timeout'
  >;
  /** Runs the pipeline once; gets the stop signal so it can finish the mail in hand and stop. */
  runOnce: (signal: AbortSignal) => Promise<unknown>;
  /** Stops the loop (the run in hand finishes first). */
  signal?: AbortSignal;
  /** Milliseconds between NOOPs that prove the connection alive. @default 60000 */
  heartbeat?: number;
  /** Milliseconds a NOOP may take before the connection counts as dead. @default 15000 */
  heartbeatTimeout?: number;
  /** Run even without a notification this often, in ms. @default 600000 */
  pollInterval?: number;
  /** First delay before reconnecting, in ms; doubles per failure. @default 1000 */
  reconnectDelay?: number;
  /** Longest delay before reconnecting, in ms. @default 60000 */
  maxReconnectDelay?: number;
  /** Told of every connection problem and failed run (the loop goes on). */
  onError?: (error: Error) => void;
  /** Told of what the loop does, for logs and tests. */
  onEvent?: (event: WatchEvent) => void;
}

export type WatchEvent =
  | { type: 'connected' }
  | { type: 'idle' }
  | { type: 'mail' }
  | { type: 'run'; reason: 'start' | 'mail' | 'poll' }
  | { type: 'ran'; ms: number }
  | { type: 'dead'; reason: string }
  | { type: 'reconnect'; delay: number }
  | { type: 'stopped' };

const UNIT = 'watch';

type Wake = 'mail' | 'closed' | 'abort' | 'tick';

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Watches until `signal` is aborted; never throws for a server problem (it reconnects). */
export async function watch(options: WatchOptions): Promise<void> {
  const signal = options.signal ?? new AbortController().signal;
  const heartbeat = options.heartbeat ?? 60_000;
  const heartbeatTimeout = options.heartbeatTimeout ?? 15_000;
  const pollInterval = options.pollInterval ?? 600_000;
  const firstDelay = options.reconnectDelay ?? 1000;
  const maxDelay = options.maxReconnectDelay ?? 60_000;
  const mailbox = options.imap.mailbox ?? 'INBOX';
  const tls = options.imap.tls ?? 'starttls';
  const port = options.imap.port ?? (tls === 'implicit' ? 993 : 143);
  const ctx = {
    where: `imap server ${options.imap.host}:${port}`,
    user: options.imap.user,
    mailbox,
  };
  const event = (e: WatchEvent) => options.onEvent?.(e);
  const report = (error: unknown) =>
    options.onError?.(error instanceof Error ? error : new Error(String(error)));
  const ca = options.imap.caFile ? await readFile(options.imap.caFile, 'utf8') : undefined;

  let lastRun = 0;
  let reason: 'start' | 'mail' | 'poll' = 'start';
  async function run(): Promise<void> {
    event({ type: 'run', reason });
    const started = Date.now();
    try {
      await options.runOnce(signal);
    } catch (error) {
      report(
        new StageError(`the run failed: ${describeError(error)}`, {
          code: 'EUNIT',
          unit: UNIT,
          cause: error,
        }),
      );
    }
    lastRun = Date.now();
    event({ type: 'ran', ms: lastRun - started });
  }

  let delay = firstDelay;
  let pending = true;
  while (!signal.aborted) {
    const client: ImapFlow = new (await loadImapFlow())(imapClientOptions({ ...options.imap, ca }));
    let wake: ((why: Wake) => void) | undefined;
    let closed = false;
    const onAbort = () => wake?.('abort');
    client.on('error', () => {});
    client.on('exists', () => {
      pending = true;
      reason = 'mail';
      event({ type: 'mail' });
      wake?.('mail');
    });
    client.on('close', () => {
      closed = true;
      wake?.('closed');
    });
    signal.addEventListener('abort', onAbort);
    try {
      await client.connect();
      await client.mailboxOpen(mailbox, { readOnly: true });
      event({ type: 'connected' });
      delay = firstDelay;
      // Whatever arrived while we were away is fetched at once.
      if (reason !== 'start') {
        pending = true;
        reason = 'poll';
      }
      while (!signal.aborted) {
        if (pending) {
          pending = false;
          await run();
          continue;
        }
        if (closed) throw new Error('the server closed the connection');
        // IDLE runs until the next command (our NOOP) breaks it; imapflow does that itself.
        void client.idle().catch(() => {});
        event({ type: 'idle' });
        let tick: NodeJS.Timeout | undefined;
        const why = await new Promise<Wake>((resolve) => {
          wake = resolve;
          tick = setTimeout(() => resolve('tick'), heartbeat);
        });
        clearTimeout(tick);
        wake = undefined;
        if (why === 'abort') break;
        if (why === 'closed') throw new Error('the server closed the connection');
        if (why === 'mail') continue;
        // A heartbeat: the connection must answer, or it is dead.
        let timer: NodeJS.Timeout | undefined;
        const alive = await Promise.race([
          client.noop().then(
            () => true,
            () => false,
          ),
          new Promise<boolean>((resolve) => {
            timer = setTimeout(() => resolve(false), heartbeatTimeout);
          }),
        ]);
        clearTimeout(timer);
        if (!alive || closed || !client.usable) {
          throw new Error(`no answer to NOOP within ${heartbeatTimeout} ms`);
        }
        if (Date.now() - lastRun >= pollInterval) {
          pending = true;
          reason = 'poll';
        }
      }
    } catch (error) {
      if (signal.aborted) break;
      const failure = imapError(error, ctx);
      event({ type: 'dead', reason: failure.message });
      report(failure);
      if (reason === 'start') reason = 'poll';
      event({ type: 'reconnect', delay });
      client.close();
      await sleep(delay, signal);
      delay = Math.min(delay * 2, maxDelay);
    } finally {
      signal.removeEventListener('abort', onAbort);
      if (client.usable) {
        // LOGOUT, but a server that stopped answering must not hold the stop up.
        await Promise.race([
          client.logout().catch(() => {}),
          sleep(2000, new AbortController().signal),
        ]);
      }
      client.close();
    }
  }
  event({ type: 'stopped' });
}
