/**
 * `malist lmtp` started as operators start it (the real command, a child process) on a free
 * port, and an LMTP client (nodemailer, `lmtp: true`) for the tests that talk to it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { createTransport } from 'nodemailer';
import { MALIST, ROOT } from './run-malist.ts';

export interface RunningLmtp {
  child: ChildProcess;
  port: number;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** Its exit code (or the signal that ended it) once it has exited, without a signal sent. */
  exit: Promise<number | string | null>;
  /** SIGTERM, then its exit code (SIGKILL after `boundMs`, a hung test only). */
  stop(boundMs?: number): Promise<number | string | null>;
}

/**
 * Starts `malist lmtp --listen 127.0.0.1:0 ARGS` (or on `listen`) and waits for its
 * "listening on" line; `port` is 0 on a unix socket.
 */
export function startLmtpCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  listen = '127.0.0.1:0',
): Promise<RunningLmtp> {
  const child = spawn(process.execPath, [MALIST, 'lmtp', '--listen', listen, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  const exited = new Promise<number | string | null>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal)),
  );
  return new Promise((resolve, reject) => {
    const bound = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`malist lmtp did not start: ${stderr}`));
    }, 150_000);
    child.stdout!.resume();
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /listening on (?:127\.0\.0\.1:(\d+)|unix:)/.exec(stderr);
      if (!m) return;
      clearTimeout(bound);
      resolve({
        child,
        port: Number(m[1] ?? 0),
        stderr: () => stderr,
        exit: exited,
        async stop(boundMs = 90_000) {
          if (child.exitCode === null) child.kill('SIGTERM');
          const kill = setTimeout(() => child.kill('SIGKILL'), boundMs);
          const code = await exited;
          clearTimeout(kill);
          return code;
        },
      });
    });
    exited.then((code) => {
      clearTimeout(bound);
      reject(new Error(`malist lmtp exited ${code} before listening: ${stderr}`));
    });
  });
}

/** What the LMTP server answered for each recipient of one transaction. */
export interface LmtpResult {
  accepted: string[];
  /** Recipient → the server's reply line, for every refused or deferred recipient. */
  refused: Record<string, string>;
}

/** Sends `raw` from `from` to `to` over LMTP to 127.0.0.1:`port`, one transaction. */
export async function sendLmtp(
  port: number,
  from: string,
  to: string[],
  raw: Buffer | string,
): Promise<LmtpResult> {
  const transport = createTransport({ lmtp: true, host: '127.0.0.1', port, ignoreTLS: true });
  type Refusal = { recipient?: string; response?: string; message: string };
  const refusals = (list: Refusal[] | undefined) =>
    Object.fromEntries((list ?? []).map((e) => [e.recipient ?? '', e.response ?? e.message]));
  try {
    const info = await transport.sendMail({ envelope: { from, to }, raw });
    const rejected = (info as { rejectedErrors?: Refusal[] }).rejectedErrors;
    return { accepted: info.accepted.map(String), refused: refusals(rejected) };
  } catch (error) {
    // Every recipient refused at RCPT TO: nodemailer throws.
    const e = error as Refusal & { rejectedErrors?: Refusal[] };
    return {
      accepted: [],
      refused: e.rejectedErrors ? refusals(e.rejectedErrors) : { '': e.response ?? e.message },
    };
  } finally {
    transport.close();
  }
}

/**
 * An LMTP conversation spoken by hand (to see each reply line, and a connection the server
 * ends): `command` writes one line and waits for `replies` more final reply lines
 * (`NNN text`), or for the server to close the connection.
 */
export interface LmtpDialog {
  /** Every final reply line so far (the greeting first). */
  lines: string[];
  /** Writes `line` (CRLF added); resolves to the reply lines it got. */
  command(line: string, replies?: number): Promise<string[]>;
  /** True once the server closed the connection. */
  closed(): boolean;
  /** Sends QUIT and ends the connection. */
  end(): void;
}

/**
 * Opens an LMTP connection (TCP port on 127.0.0.1, or a unix socket) and reads the greeting;
 * rejects with the socket's error (`ECONNREFUSED`) when there is none.
 */
export async function lmtpDialog(target: { port: number } | { path: string }): Promise<LmtpDialog> {
  const socket = createConnection(
    'path' in target ? { path: target.path } : { host: '127.0.0.1', port: target.port },
  );
  let buffer = '';
  let ended = false;
  const lines: string[] = [];
  let wake: (() => void) | undefined;
  const changed = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  socket.on('data', (d: Buffer) => {
    buffer += d.toString();
    for (let i = buffer.indexOf('\r\n'); i >= 0; i = buffer.indexOf('\r\n')) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 2);
      // A reply ends on its last line (the code, then a space).
      if (/^\d{3} /.test(line)) lines.push(line);
    }
    changed();
  });
  let failure: Error | undefined;
  socket.on('error', (error) => {
    failure = error;
  });
  socket.on('close', () => {
    ended = true;
    changed();
  });
  const until = async (count: number) => {
    while (lines.length < count && !ended) await new Promise<void>((resolve) => (wake = resolve));
  };
  await until(1);
  // No greeting: the connection was refused or reset (the error, with its code).
  if (lines.length === 0) throw failure ?? new Error('the LMTP server closed without a greeting');
  return {
    lines,
    async command(line, replies = 1) {
      const before = lines.length;
      socket.write(`${line}\r\n`);
      await until(before + replies);
      return lines.slice(before);
    },
    closed: () => ended,
    end: () => {
      if (!ended) socket.end('QUIT\r\n');
    },
  };
}
