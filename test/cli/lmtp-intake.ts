/**
 * `malist lmtp` started as operators start it (the real command, a child process) on a free
 * port, and an LMTP client (nodemailer, `lmtp: true`) for the tests that talk to it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createTransport } from 'nodemailer';
import { MALIST, ROOT } from './run-malist.ts';

export interface RunningLmtp {
  child: ChildProcess;
  port: number;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
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
