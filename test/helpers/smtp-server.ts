/**
 * A fault-injecting SMTP server for tests, on the smtp-server package, listening on
 * 127.0.0.1 on a free port. Replies are scripted per stage and per recipient (421 at
 * connect, 4xx/5xx at MAIL, RCPT or end of DATA, a disconnect in the middle of DATA, a
 * stall), and every accepted (message, recipient) pair is counted so a test can assert
 * that each recipient got a post exactly once.
 *
 * Reusable by the crash, fault and benchmark suites: `startSmtpServer()` returns a handle;
 * `stop()` / `start()` take the server down and back up on the same port.
 */
import { createServer } from 'node:net';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';

export type FaultStage = 'connect' | 'mail' | 'rcpt' | 'data';

export interface FaultRule {
  /** Where the fault applies. `data` is the reply to the message (after the final dot). */
  stage: FaultStage;
  /** Only for this recipient (rcpt stage), or only transactions that include it (data). */
  recipient?: string | RegExp;
  /** Only for this envelope sender (mail stage and later). */
  sender?: string | RegExp;
  /** The reply to give, e.g. `{ code: 451, message: 'try later' }`. */
  reply?: { code: number; message?: string };
  /**
   * `disconnect`: drop the connection (at `data`: after part of the message arrived, so
   * the client is mid-DATA); `stall`: never answer (until the server stops).
   */
  action?: 'disconnect' | 'stall';
  /** How many times the rule applies before it is used up. @default Infinity */
  times?: number;
}

export interface AcceptedMessage {
  /** The Message-ID header's value without brackets, or '' when absent. */
  messageId: string;
  from: string;
  /** The recipients of this transaction the server accepted. */
  to: string[];
  raw: Buffer;
  /** The SMTP session that carried it (for per-connection assertions). */
  sessionId: string;
}

export interface TestSmtpServerOptions {
  /** Require this user/password (AUTH PLAIN/LOGIN); without it, AUTH is not offered. */
  auth?: { user: string; pass: string };
  /** Offer STARTTLS (the package's built-in test certificate). @default false */
  starttls?: boolean;
  /** Implicit TLS from the first byte (the package's built-in test certificate). @default false */
  secure?: boolean;
  /** Advertised SIZE limit; larger messages get 552. */
  size?: number;
  /** Hide PIPELINING from EHLO. @default false */
  hidePipelining?: boolean;
  /** Delay in ms before each RCPT reply (to make transactions overlap). @default 0 */
  rcptDelayMs?: number;
  /** Extra smtp-server options, passed through. */
  serverOptions?: Partial<SMTPServerOptions>;
}

export interface TestSmtpServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** Every message the server accepted, in order. */
  readonly accepted: AcceptedMessage[];
  /** Number of connections opened so far (including refused ones). */
  readonly connections: number;
  /** Number of times a client started sending message data (DATA accepted with 354). */
  readonly dataStarts: number;
  /** Number of times a (message, recipient) pair was accepted; with one argument, the recipient's total. */
  count(recipient: string, messageId?: string): number;
  /** The (messageId, recipient) pairs accepted more than once: empty when exactly-once held. */
  duplicates(): Array<{ messageId: string; recipient: string; count: number }>;
  /** Adds a fault rule (rules are checked in order; the first that matches applies). */
  addRule(rule: FaultRule): void;
  clearRules(): void;
  /** Waits until `predicate()` holds, polling every 20 ms, or throws after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  /** Closes the listener and drops every open connection: the server is "down". */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
}

/** A port that is free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

function matches(pattern: string | RegExp | undefined, value: string): boolean {
  if (pattern === undefined) return true;
  if (typeof pattern === 'string') return pattern.toLowerCase() === value.toLowerCase();
  return pattern.test(value);
}

function smtpError(code: number, message?: string): Error & { responseCode: number } {
  const error = new Error(
    message ?? (code >= 500 ? 'Refused by test' : 'Try again later'),
  ) as Error & {
    responseCode: number;
  };
  error.responseCode = code;
  return error;
}

function headerMessageId(raw: Buffer): string {
  const end = raw.indexOf('\r\n\r\n');
  const head = raw.toString('latin1', 0, end === -1 ? Math.min(raw.length, 65536) : end);
  const match = /^message-id:[ \t]*(?:\r\n[ \t]+)?<?([^>\r\n]*)>?/im.exec(head);
  return match?.[1]?.trim() ?? '';
}

/** Starts the server on a free loopback port. */
export async function startSmtpServer(
  options: TestSmtpServerOptions = {},
): Promise<TestSmtpServer> {
  const port = await freePort();
  const rules: Array<FaultRule & { left: number }> = [];
  const accepted: AcceptedMessage[] = [];
  const counts = new Map<string, number>();
  let connections = 0;
  let dataStarts = 0;
  const stalled = new Set<() => void>();

  const take = (stage: FaultStage, sender: string, recipients: string[]): FaultRule | undefined => {
    for (const rule of rules) {
      if (rule.stage !== stage || rule.left <= 0) continue;
      if (!matches(rule.sender, sender)) continue;
      if (rule.recipient !== undefined && !recipients.some((r) => matches(rule.recipient, r)))
        continue;
      rule.left--;
      return rule;
    }
    return undefined;
  };

  const senderOf = (session: SMTPServerSession): string => {
    const from = session.envelope.mailFrom;
    return from ? from.address : '';
  };

  let server: SMTPServer | undefined;

  const findConnection = (session: SMTPServerSession) => {
    for (const connection of server?.connections ?? []) {
      if (connection.session.id === session.id || connection.id === session.id) return connection;
    }
    return undefined;
  };

  /** Applies a rule's fault; returns true when the caller must not answer. */
  const apply = (
    rule: FaultRule | undefined,
    session: SMTPServerSession,
    callback: (err?: Error | null) => void,
  ): boolean => {
    if (!rule) return false;
    if (rule.action === 'disconnect') {
      findConnection(session)?._socket.destroy();
      return true;
    }
    if (rule.action === 'stall') {
      stalled.add(() => callback(smtpError(421, 'Server shutting down')));
      return true;
    }
    if (rule.reply) {
      callback(smtpError(rule.reply.code, rule.reply.message));
      return true;
    }
    return false;
  };

  const makeServer = (): SMTPServer =>
    new SMTPServer({
      logger: false,
      secure: options.secure ?? false,
      authOptional: !options.auth,
      allowInsecureAuth: true,
      disabledCommands: [
        ...(options.auth ? [] : ['AUTH']),
        ...(options.starttls || options.secure ? [] : ['STARTTLS']),
      ],
      hidePIPELINING: options.hidePipelining ?? false,
      ...(options.size ? { size: options.size } : {}),
      socketTimeout: 30_000,
      closeTimeout: 1_000,
      onConnect(session, callback) {
        connections++;
        const rule = take('connect', '', []);
        if (rule?.action === 'disconnect') {
          // Dropping inside onConnect leaves the client waiting for a greeting that never comes.
          setImmediate(() => findConnection(session)?._socket.destroy());
          return callback();
        }
        if (apply(rule, session, callback)) return;
        callback();
      },
      onAuth(auth, _session, callback) {
        if (auth.username === options.auth?.user && auth.password === options.auth?.pass) {
          return callback(null, { user: auth.username });
        }
        callback(smtpError(535, 'Authentication failed'));
      },
      onMailFrom(address, session, callback) {
        if (apply(take('mail', address.address, []), session, callback)) return;
        callback();
      },
      onRcptTo(address, session, callback) {
        const answer = () => {
          if (apply(take('rcpt', senderOf(session), [address.address]), session, callback)) return;
          callback();
        };
        if (options.rcptDelayMs) setTimeout(answer, options.rcptDelayMs);
        else answer();
      },
      onData(stream, session, callback) {
        dataStarts++;
        const recipients = session.envelope.rcptTo.map((r) => r.address);
        const rule = take('data', senderOf(session), recipients);
        const chunks: Buffer[] = [];
        let size = 0;
        let dropped = false;
        stream.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          size += chunk.length;
          // Mid-DATA: some bytes have arrived, the final dot has not.
          if (rule?.action === 'disconnect' && !dropped) {
            dropped = true;
            findConnection(session)?._socket.destroy();
          }
        });
        stream.on('error', () => {});
        stream.on('end', () => {
          if (dropped) return;
          if (rule?.action === 'disconnect') {
            // A message shorter than one chunk: drop before answering, as if mid-DATA.
            findConnection(session)?._socket.destroy();
            return;
          }
          if (stream.sizeExceeded)
            return callback(smtpError(552, 'Message exceeds fixed maximum size'));
          if (apply(rule, session, callback)) return;
          const raw = Buffer.concat(chunks, size);
          const messageId = headerMessageId(raw);
          for (const recipient of recipients) {
            const key = `${messageId}\0${recipient.toLowerCase()}`;
            counts.set(key, (counts.get(key) ?? 0) + 1);
          }
          accepted.push({
            messageId,
            from: senderOf(session),
            to: recipients,
            raw,
            sessionId: session.id,
          });
          callback(null, `OK queued as ${accepted.length}`);
        });
      },
      ...options.serverOptions,
    });

  const listen = async (): Promise<void> => {
    server = makeServer();
    server.on('error', () => {});
    const current = server;
    await new Promise<void>((resolve, reject) => {
      current.server.once('error', reject);
      current.listen(port, '127.0.0.1', () => resolve());
    });
  };

  const close = async (): Promise<void> => {
    const current = server;
    server = undefined;
    if (!current) return;
    for (const release of stalled) release();
    stalled.clear();
    for (const connection of current.connections) connection._socket.destroy();
    await new Promise<void>((resolve) => current.close(() => resolve()));
  };

  await listen();

  return {
    host: '127.0.0.1',
    port,
    accepted,
    get connections() {
      return connections;
    },
    get dataStarts() {
      return dataStarts;
    },
    count(recipient, messageId) {
      const who = recipient.toLowerCase();
      if (messageId !== undefined) return counts.get(`${messageId}\0${who}`) ?? 0;
      let total = 0;
      for (const [key, n] of counts) if (key.endsWith(`\0${who}`)) total += n;
      return total;
    },
    duplicates() {
      const out: Array<{ messageId: string; recipient: string; count: number }> = [];
      for (const [key, count] of counts) {
        if (count <= 1) continue;
        const [messageId = '', recipient = ''] = key.split('\0');
        out.push({ messageId, recipient, count });
      }
      return out;
    },
    addRule(rule) {
      rules.push({ ...rule, left: rule.times ?? Number.POSITIVE_INFINITY });
    },
    clearRules() {
      rules.length = 0;
    },
    async waitFor(predicate, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate()) {
        if (Date.now() > deadline) throw new Error(`waitFor: condition not met in ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    stop: close,
    async start() {
      if (!server) await listen();
    },
  };
}
