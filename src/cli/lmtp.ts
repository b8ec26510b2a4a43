/**
 * `malist lmtp --listen 127.0.0.1:2424|unix:/path [--config DIR]` — the LMTP intake
 * (lmtp-server.ts): long-running, the MTA delivers list mail to it, one reply per recipient.
 * SIGHUP reloads the configuration; SIGTERM or SIGINT stops taking mail, finishes the mail
 * in hand and exits 0 (a second signal ends the process at once).
 */
import { parseArgs } from 'node:util';
import { describeError } from '../errors.ts';
import { EX } from './exit-codes.ts';
import { MAX_SIZE } from './intake.ts';
import { type LmtpServer, parseListen, startLmtp } from './lmtp-server.ts';

const USAGE = `usage: malist lmtp --listen HOST:PORT|unix:PATH [--config DIR] [--max-size BYTES]
                   [--max-connections N] [--timeout SECONDS] [--socket-mode OCTAL]

Takes list mail from the MTA over LMTP (RFC 2033), one process for every mail: Postfix
\`lmtp:inet:127.0.0.1:2424\` or \`lmtp:unix:/path\`. Each recipient is routed and handled as
\`malist receive --recipient RCPT\` would be, its reply the receive exit code's meaning:
250 handled, 550 5.1.1 unknown list, 451 4.3.0 temporary (the MTA retries), 554 5.6.0
unusable input, 552 larger than --max-size (default ${MAX_SIZE} bytes).
--max-connections (default 20; more get 421), --timeout: a silent connection is closed
(default 120 s), --socket-mode: a unix socket's mode (default 660).
SIGHUP (or a change in the configuration's folders) reloads the configuration; SIGTERM
finishes the mail in hand and exits 0. Exit status: 0 stopped, 64 usage, 78 configuration
error, 71 cannot listen.`;

interface Flags {
  listen?: string;
  config?: string;
  'max-size'?: string;
  'max-connections'?: string;
  timeout?: string;
  'socket-mode'?: string;
  help?: boolean;
}

function positive(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive whole number`);
  return n;
}

function options(values: Flags) {
  if (!values.listen) throw new Error('--listen is required');
  parseListen(values.listen);
  const mode = values['socket-mode'];
  if (mode !== undefined && !/^0?[0-7]{3}$/.test(mode))
    throw new Error('--socket-mode must be an octal mode such as 660');
  const maxSize = positive(values['max-size'], 'max-size');
  const maxConnections = positive(values['max-connections'], 'max-connections');
  const timeout = positive(values.timeout, 'timeout');
  return {
    listen: values.listen,
    ...(values.config ? { config: values.config } : {}),
    ...(maxSize ? { maxSize } : {}),
    ...(maxConnections ? { maxConnections } : {}),
    ...(timeout ? { timeoutMs: timeout * 1000 } : {}),
    ...(mode ? { socketMode: Number.parseInt(mode, 8) } : {}),
  };
}

/**
 * Resolves when SIGTERM or SIGINT has stopped the server; SIGHUP reloads meanwhile. Says
 * "listening" only once the handlers are in place: a supervisor (or a test) that sends
 * SIGTERM as soon as it reads that line must not find the default action (death by signal).
 */
function runUntilStopped(server: LmtpServer): Promise<void> {
  return new Promise((resolve) => {
    const hup = () => {
      server.reload().then(
        (ok) => ok && process.stderr.write('malist lmtp: configuration reloaded\n'),
        (error: unknown) => process.stderr.write(`malist lmtp: reload: ${describeError(error)}\n`),
      );
    };
    const stop = () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      process.once('SIGTERM', () => process.exit(EX.TEMPFAIL));
      process.once('SIGINT', () => process.exit(EX.TEMPFAIL));
      process.stderr.write('malist lmtp: stopping after the mail in hand\n');
      server.close().then(() => {
        process.off('SIGHUP', hup);
        resolve();
      });
    };
    process.on('SIGHUP', hup);
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.stderr.write(`malist lmtp: listening on ${server.address}\n`);
  });
}

export default async function lmtp(argv: string[]): Promise<number> {
  let values: Flags;
  let opts: ReturnType<typeof options>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        listen: { type: 'string', short: 'l' },
        config: { type: 'string', short: 'c' },
        'max-size': { type: 'string' },
        'max-connections': { type: 'string' },
        timeout: { type: 'string' },
        'socket-mode': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return EX.OK;
    }
    opts = options(values);
  } catch (error) {
    process.stderr.write(`malist lmtp: ${(error as Error).message}\n${USAGE}\n`);
    return EX.USAGE;
  }
  let server: LmtpServer;
  try {
    server = await startLmtp(opts);
  } catch (error) {
    const code = (error as { exitCode?: number }).exitCode ?? EX.OSERR;
    process.stderr.write(`malist lmtp: ${describeError(error)}\n`);
    return code;
  }
  await runUntilStopped(server);
  return EX.OK;
}
