/**
 * A real Postfix for integration tests: started by the test itself from a private config
 * directory in a temporary directory, listening on 127.0.0.1 on a free port, delivering
 * the virtual domain `example.test` over LMTP (to the Dovecot helper's LMTP port) and
 * refusing to send anything off the machine.
 *
 * ```ts
 * const available = postfixAvailable();            // false (and a loud message) when missing
 * describe.skipIf(!available)('…', () => {
 *   const postfix = await startPostfix({ lmtpPort: dovecot.ports.lmtp, mailboxes: dovecot.users });
 *   … SMTP to 127.0.0.1:postfix.port …
 *   await postfix.stop();
 * });
 * ```
 *
 * Facts it relies on are in /work/shared/notes/real-servers.md (root, 0755 temp dir,
 * maillog_file because there is no syslog, texthash maps backdated so they are read at once).
 * `stop()` stops only this instance (`postfix -c DIR stop`, then the master's PID).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './smtp-server.ts';

const run = promisify(execFile);

/** Where the Debian package installs the command. */
const POSTFIX_BINARY = process.env.POSTFIX_BINARY ?? '/usr/sbin/postfix';

export interface StartPostfixOptions {
  /** The LMTP port virtual mail is delivered to (Dovecot's `ports.lmtp`). */
  lmtpPort: number;
  /** Addresses that exist in the virtual domain (e.g. `dovecot.users`). */
  mailboxes: string[];
  /** The virtual domain. @default 'example.test' */
  domain?: string;
  /**
   * STARTTLS offered on the SMTP port with this certificate and key (PEM files, e.g. from
   * `makeTestCa`). Without it Postfix offers no TLS.
   */
  tls?: { certFile: string; keyFile: string };
  /**
   * SMTP AUTH through Dovecot's auth service: the absolute path of a Dovecot auth socket
   * (the Dovecot helper's `authSocket` option).
   * AUTH is offered without TLS too (`smtpd_tls_auth_only = no`: loopback only).
   */
  saslPath?: string;
  /** Extra main.cf lines. */
  extraMain?: string;
  /** Wait this long for the SMTP listener, ms. @default 15000 */
  startTimeout?: number;
}

export interface Postfix {
  host: '127.0.0.1';
  /** The SMTP port. */
  port: number;
  /** The temporary directory (config in `conf/`, queue in `queue/`, log in `log/`). */
  dir: string;
  /** Postfix's log so far (for failing-test diagnostics). */
  log(): Promise<string>;
  /** Stops this instance only, and removes the temp dir. */
  stop(opts?: { keepDir?: boolean }): Promise<void>;
}

let warned = false;

/**
 * Whether Postfix is installed. When it is not, prints a LOUD message (once) so a skipped
 * suite is not mistaken for a passing one; under `CI=true` a missing binary throws.
 */
export function postfixAvailable(): boolean {
  if (existsSync(POSTFIX_BINARY)) return true;
  const message =
    `Postfix is not installed (${POSTFIX_BINARY} missing): the real-Postfix tests are SKIPPED. ` +
    'Install postfix (Debian) to run them.';
  if (process.env.CI === 'true') throw new Error(`${message} Under CI=true this is a failure.`);
  if (!warned) {
    warned = true;
    console.warn(`\n${'!'.repeat(100)}\n!!! ${message}\n${'!'.repeat(100)}\n`);
  }
  return false;
}

function masterCf(port: number): string {
  // chroot `n` everywhere: the temp dir holds no chroot jail.
  return `${[
    `127.0.0.1:${port} inet n - n - - smtpd`,
    'pickup unix n - n 60 1 pickup',
    'cleanup unix n - n - 0 cleanup',
    'qmgr unix n - n 300 1 qmgr',
    'tlsmgr unix - - n 1000? 1 tlsmgr',
    'rewrite unix - - n - - trivial-rewrite',
    'bounce unix - - n - 0 bounce',
    'defer unix - - n - 0 bounce',
    'trace unix - - n - 0 bounce',
    'verify unix - - n - 1 verify',
    'flush unix n - n 1000? 0 flush',
    'proxymap unix - - n - - proxymap',
    'showq unix n - n - - showq',
    'error unix - - n - - error',
    'retry unix - - n - - error',
    'discard unix - - n - - discard',
    'lmtp unix - - n - - lmtp',
    'smtp unix - - n - - smtp',
    'anvil unix - - n - 1 anvil',
    'scache unix - - n - 1 scache',
    'postlog unix-dgram n - n - 1 postlogd',
  ].join('\n')}\n`;
}

function mainCf(dir: string, options: StartPostfixOptions): string {
  const domain = options.domain ?? 'example.test';
  return `${[
    'compatibility_level = 3.6',
    `queue_directory = ${dir}/queue`,
    `data_directory = ${dir}/data`,
    'mail_owner = postfix',
    'myhostname = postfix.malist.test',
    'inet_interfaces = 127.0.0.1',
    'inet_protocols = ipv4',
    'mynetworks = 127.0.0.0/8',
    'smtpd_peername_lookup = no',
    'mydestination =',
    'relayhost =',
    'alias_maps =',
    'alias_database =',
    // Nothing leaves the machine: every transport but the virtual one is an error.
    'default_transport = error:no mail leaves the test machine',
    'relay_transport = error:no mail leaves the test machine',
    'local_transport = error:no local delivery in tests',
    'smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination',
    `virtual_mailbox_domains = ${domain}`,
    `virtual_mailbox_maps = texthash:${dir}/conf/vmailbox`,
    `virtual_transport = lmtp:inet:127.0.0.1:${options.lmtpPort}`,
    'recipient_delimiter = +',
    `maillog_file = ${dir}/log/postfix.log`,
    `maillog_file_prefixes = ${dir}/log`,
    'queue_run_delay = 10s',
    'minimal_backoff_time = 10s',
    'maximal_backoff_time = 60s',
    'smtputf8_enable = no',
    ...(options.tls
      ? [
          `smtpd_tls_cert_file = ${options.tls.certFile}`,
          `smtpd_tls_key_file = ${options.tls.keyFile}`,
          'smtpd_tls_security_level = may',
          'smtpd_tls_loglevel = 1',
        ]
      : []),
    ...(options.saslPath
      ? [
          'smtpd_sasl_auth_enable = yes',
          'smtpd_sasl_type = dovecot',
          `smtpd_sasl_path = ${options.saslPath}`,
          'smtpd_tls_auth_only = no',
          'broken_sasl_auth_clients = no',
        ]
      : []),
    options.extraMain ?? '',
  ].join('\n')}\n`;
}

async function waitForSmtp(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const greeted = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      const done = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
      };
      socket.setTimeout(2_000, () => done(false));
      socket.once('error', () => done(false));
      socket.once('data', (data) => done(data.toString().startsWith('220')));
      socket.connect(port, '127.0.0.1');
    });
    if (greeted) return;
    if (Date.now() > deadline)
      throw new Error(`Postfix did not answer on port ${port} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Starts a private Postfix; see the module comment. */
export async function startPostfix(options: StartPostfixOptions): Promise<Postfix> {
  const dir = await mkdtemp(join(tmpdir(), 'malist-postfix-'));
  // The postfix user's daemons must be able to reach files under the temp dir.
  await chmod(dir, 0o755);
  const conf = join(dir, 'conf');
  for (const sub of ['conf', 'queue', 'data', 'log']) await mkdir(join(dir, sub), { mode: 0o755 });
  // The master writes its lock file into data_directory as the postfix user.
  const uid = Number((await run('id', ['-u', 'postfix'])).stdout.trim());
  const gid = Number((await run('id', ['-g', 'postfix'])).stdout.trim());
  await chown(join(dir, 'data'), uid, gid);
  const port = await freePort();
  await writeFile(join(conf, 'main.cf'), mainCf(dir, options));
  await writeFile(join(conf, 'master.cf'), masterCf(port));
  const vmailbox = join(conf, 'vmailbox');
  await writeFile(vmailbox, options.mailboxes.map((m) => `${m} ok`).join('\n') + '\n');
  // texthash maps are not trusted within a second of a change: backdate it.
  const past = new Date(Date.now() - 5_000);
  await utimes(vmailbox, past, past);
  const log = () => readFile(join(dir, 'log', 'postfix.log'), 'utf8').catch(() => '');
  try {
    await run(POSTFIX_BINARY, ['-c', conf, 'start'], { timeout: 30_000 });
    await waitForSmtp(port, options.startTimeout ?? 15_000);
  } catch (error) {
    const text = await log();
    await run(POSTFIX_BINARY, ['-c', conf, 'abort'], { timeout: 10_000 }).catch(() => {});
    await rm(dir, { recursive: true, force: true });
    throw new Error(`Postfix did not start: ${(error as Error).message}\n${text}`);
  }
  return {
    host: '127.0.0.1',
    port,
    dir,
    log,
    async stop(opts = {}) {
      const pidFile = join(dir, 'queue', 'pid', 'master.pid');
      const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
      await run(POSTFIX_BINARY, ['-c', conf, 'stop'], { timeout: 20_000 }).catch(() => {});
      // `postfix stop` returns before the master has gone; wait for that one PID only.
      for (let i = 0; pid > 0 && i < 100; i++) {
        try {
          process.kill(pid, 0);
        } catch {
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      if (!opts.keepDir) await rm(dir, { recursive: true, force: true });
    },
  };
}
