/**
 * A real Dovecot (IMAP, IMAPS, POP3, POP3S, LMTP) for integration tests, started by the test
 * itself on 127.0.0.1 with free ports, a temporary config, a passwd-file of test users, a
 * self-signed certificate and maildirs, all in one temporary directory.
 *
 * ```ts
 * const available = dovecotAvailable();            // false (and a loud message) when missing
 * describe.skipIf(!available)('…', () => {
 *   let dovecot: Dovecot;
 *   beforeAll(async () => { dovecot = await startDovecot({ users: ['alice'] }); });
 *   afterAll(() => dovecot?.stop());
 *   it('…', async () => {
 *     await dovecot.deliver('alice', Buffer.from('Subject: hi\r\n\r\nbody\r\n'));
 *     … connect to dovecot.ports.imap / dovecot.ports.pop3s with dovecot.caFile …
 *     expect(await dovecot.messages('alice')).toHaveLength(0);
 *   });
 * });
 * ```
 *
 * Facts this relies on are in /work/shared/notes/real-servers.md (0755 temp dir, stdio to
 * files, first_valid_uid, anvil auth penalty off). Run as root (Dovecot drops privileges to
 * the `mail` user for mail processes and `dovecot`/`dovenull` for its own).
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, openSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where the Debian package installs the binary. */
const DOVECOT_BINARY = process.env.DOVECOT_BINARY ?? '/usr/sbin/dovecot';
/** uid/gid Dovecot's mail processes run as: Debian's `mail` user (8). */
const MAIL_UID = 8;
const MAIL_GID = 8;

/** The default password of every test user. */
export const TEST_PASSWORD = 'secret';
/** The domain test users get when named without one (`alice` → `alice@example.test`). */
export const TEST_DOMAIN = 'example.test';

export interface DovecotPorts {
  imap: number;
  imaps: number;
  pop3: number;
  pop3s: number;
  lmtp: number;
}

export interface StartDovecotOptions {
  /**
   * Test users: a name (`alice`, or `alice@example.test`) gets {@link TEST_PASSWORD};
   * `{ user, password }` sets its own. Names without a domain get {@link TEST_DOMAIN}.
   * @default ['alice']
   */
  users?: (string | { user: string; password: string })[];
  /**
   * Extra lines appended to dovecot.conf (e.g. `imap_capability = IMAP4rev1 IDLE` to hide
   * MOVE and UIDPLUS from clients).
   */
  extraConfig?: string;
  /** Milliseconds to wait for every listener to accept connections. @default 15000 */
  startTimeout?: number;
  /**
   * Also offer Dovecot's auth service on a socket any user may use (`authSocket`), for
   * Postfix's `smtpd_sasl_type = dovecot`: SMTP AUTH checked against the same passwd-file.
   */
  authSocket?: boolean;
}

export interface Dovecot {
  /** The host every listener is bound to: always `127.0.0.1`. */
  host: '127.0.0.1';
  /** The listening ports, chosen free at start. */
  ports: DovecotPorts;
  /** PEM file of the self-signed server certificate (give it to clients as their CA). */
  caFile: string;
  /** The certificate's PEM text (the same as the content of `caFile`). */
  ca: string;
  /** The temporary directory holding config, logs, certificate and maildirs. */
  dir: string;
  /** The auth socket for Postfix SASL (only with the `authSocket` option). */
  authSocket?: string;
  /** The full user names (`alice@example.test`) in the order given. */
  users: string[];
  /** Password of a user (accepts `alice` or `alice@example.test`). */
  password(user: string): string;
  /** The full address of a user given as `alice` or `alice@example.test`. */
  address(user: string): string;
  /** The user's Maildir path (INBOX) or, with `folder`, the maildir++ folder `.folder`. */
  maildir(user: string, folder?: string): string;
  /**
   * Puts a message into a user's folder (default INBOX) by writing a file into the maildir's
   * `new/`, byte for byte (Dovecot serves it as stored, with LF turned into CRLF on the wire).
   * Returns the file name.
   */
  deliver(user: string, raw: Buffer | string, folder?: string): Promise<string>;
  /** Creates an (empty) maildir++ folder for a user, e.g. `Processed`. */
  createFolder(user: string, folder: string): Promise<void>;
  /** The messages in a user's folder (default INBOX), from new/ and cur/, sorted by file name. */
  messages(user: string, folder?: string): Promise<{ file: string; raw: Buffer }[]>;
  /**
   * Runs `doveadm -c <this config> ...args` (e.g. `kick alice@example.test`, or
   * `mailbox update -u alice@example.test --uid-validity 7 INBOX`). Never throws.
   */
  doveadm(...args: string[]): { status: number; output: string };
  /** Dovecot's log (errors and info) so far, for failing-test diagnostics. */
  log(): Promise<string>;
  /** Stops the Dovecot this helper started (only that process) and removes the temp dir. */
  stop(opts?: { keepDir?: boolean }): Promise<void>;
}

let warned = false;

/**
 * Whether a Dovecot binary is installed. When it is not, prints a LOUD message (once) so a
 * skipped integration suite is not mistaken for a passing one; under `CI=true` a missing
 * binary throws instead, failing the suite.
 */
export function dovecotAvailable(): boolean {
  if (existsSync(DOVECOT_BINARY)) return true;
  const message =
    `Dovecot is not installed (${DOVECOT_BINARY} missing): the real-server tests are SKIPPED. ` +
    'Install dovecot-imapd dovecot-pop3d dovecot-lmtpd (Debian) to run them.';
  if (process.env.CI === 'true') throw new Error(`${message} Under CI=true this is a failure.`);
  if (!warned) {
    warned = true;
    console.warn(`\n${'!'.repeat(100)}\n!!! ${message}\n${'!'.repeat(100)}\n`);
  }
  return false;
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.connect(port, '127.0.0.1');
  });
}

function makeCertificate(dir: string): void {
  // An EC key is generated in milliseconds; the SAN covers how tests connect (IP and name).
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
}

/** The auth socket's name under base_dir (`run/`). */
const AUTH_SOCKET = 'auth-postfix';

function dovecotConf(
  dir: string,
  ports: DovecotPorts,
  extra: string,
  authSocket: boolean | undefined,
): string {
  const tls = join(dir, 'tls');
  const auth = authSocket
    ? `service auth {
  unix_listener ${AUTH_SOCKET} {
    mode = 0666
  }
}
`
    : '';
  return `# malist test Dovecot (test/helpers/dovecot.ts)
base_dir = ${dir}/run
state_dir = ${dir}/state
instance_name = malist-test-${randomBytes(4).toString('hex')}
log_path = ${dir}/log/dovecot.log
info_log_path = ${dir}/log/dovecot.log
protocols = imap pop3 lmtp
listen = 127.0.0.1
ssl = yes
ssl_cert = <${tls}/cert.pem
ssl_key = <${tls}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
# A refused login answers at once (the default waits 2 s): tests of bad credentials stay fast.
auth_failure_delay = 0
first_valid_uid = 1
mail_location = maildir:~/Maildir
pop3_uidl_format = %08Xv%08Xu
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%u ${dir}/passwd
  default_fields = uid=mail gid=mail home=${dir}/mail/%Ld/%Ln
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${ports.imap}
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = ${ports.imaps}
    ssl = yes
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = ${ports.pop3}
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = ${ports.pop3s}
    ssl = yes
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = ${ports.lmtp}
  }
}
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
${auth}${extra}
`;
}

let deliverCounter = 0;

class StartFailure extends Error {}

/**
 * Starts a private Dovecot; see the module comment. Resolves once every listener accepts.
 * A start that fails (a port taken between choosing and binding it, a slow machine) is tried
 * again with new ports, three times in all.
 */
export async function startDovecot(options: StartDovecotOptions = {}): Promise<Dovecot> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (error) {
      if (!(error instanceof StartFailure) || attempt >= 3) throw error;
    }
  }
}

async function startOnce(options: StartDovecotOptions): Promise<Dovecot> {
  const dir = await mkdtemp(join(tmpdir(), 'malist-dovecot-'));
  // mkdtemp makes 0700: Dovecot's auth process (user dovecot) must read the passwd-file.
  await chmod(dir, 0o755);
  for (const sub of ['run', 'state', 'log', 'tls']) await mkdir(join(dir, sub));
  await mkdir(join(dir, 'mail'));
  await chown(join(dir, 'mail'), MAIL_UID, MAIL_GID);
  makeCertificate(join(dir, 'tls'));

  const domainOf = (user: string) => (user.includes('@') ? user : `${user}@${TEST_DOMAIN}`);
  const passwords = new Map<string, string>();
  for (const entry of options.users ?? ['alice']) {
    const { user, password } =
      typeof entry === 'string' ? { user: entry, password: TEST_PASSWORD } : entry;
    passwords.set(domainOf(user).toLowerCase(), password);
  }
  await writeFile(
    join(dir, 'passwd'),
    [...passwords].map(([user, password]) => `${user}:{PLAIN}${password}::::::\n`).join(''),
    { mode: 0o644 },
  );

  const ports: DovecotPorts = {
    imap: await freePort(),
    imaps: await freePort(),
    pop3: await freePort(),
    pop3s: await freePort(),
    lmtp: await freePort(),
  };
  const conf = join(dir, 'dovecot.conf');
  await writeFile(conf, dovecotConf(dir, ports, options.extraConfig ?? '', options.authSocket), {
    mode: 0o644,
  });

  // -F keeps the master in the foreground: the child is the process stop() ends. Its stdio
  // goes to files, never to our pipes (the master would hold them open for its whole life).
  const out = openSync(join(dir, 'log', 'stdio.log'), 'a');
  const child: ChildProcess = spawn(DOVECOT_BINARY, ['-F', '-c', conf], {
    stdio: ['ignore', out, out],
  });
  let exited: { code: number | null } | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code) => {
      exited = { code };
      resolve();
    });
  });

  const readLog = async () => {
    const parts: string[] = [];
    for (const name of ['dovecot.log', 'stdio.log']) {
      parts.push(await readFile(join(dir, 'log', name), 'utf8').catch(() => ''));
    }
    return parts.join('\n');
  };

  const deadline = Date.now() + (options.startTimeout ?? 15_000);
  for (const port of Object.values(ports)) {
    while (!(await canConnect(port))) {
      if (exited || Date.now() > deadline) {
        child.kill('SIGKILL');
        const log = await readLog();
        await rm(dir, { recursive: true, force: true });
        throw new StartFailure(
          `Dovecot did not start (${exited ? `exit ${exited.code}` : 'timeout'}): ${log}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  const address = (user: string) => domainOf(user).toLowerCase();
  const maildir = (user: string, folder?: string) => {
    const [local, domain] = address(user).split('@') as [string, string];
    const base = join(dir, 'mail', domain, local, 'Maildir');
    return folder && folder.toUpperCase() !== 'INBOX' ? join(base, `.${folder}`) : base;
  };
  const ensureMaildir = async (user: string, folder?: string) => {
    const [local, domain] = address(user).split('@') as [string, string];
    const chain = [
      join(dir, 'mail', domain),
      join(dir, 'mail', domain, local),
      maildir(user),
      maildir(user, folder),
    ];
    const path = maildir(user, folder);
    for (const sub of [...chain, join(path, 'new'), join(path, 'cur'), join(path, 'tmp')]) {
      await mkdir(sub, { recursive: true });
      await chown(sub, MAIL_UID, MAIL_GID);
    }
    return path;
  };
  const ca = await readFile(join(dir, 'tls', 'cert.pem'), 'utf8');

  let stopped = false;
  return {
    host: '127.0.0.1',
    ports,
    caFile: join(dir, 'tls', 'cert.pem'),
    ca,
    dir,
    ...(options.authSocket ? { authSocket: join(dir, 'run', AUTH_SOCKET) } : {}),
    users: [...passwords.keys()],
    password: (user) => {
      const password = passwords.get(address(user));
      if (password === undefined) throw new Error(`dovecot helper: no test user ${user}`);
      return password;
    },
    address,
    maildir,
    async deliver(user, raw, folder) {
      const path = await ensureMaildir(user, folder);
      deliverCounter += 1;
      const name = `${Date.now()}.M${deliverCounter}P${process.pid}R${randomBytes(4).toString('hex')}.malist-test`;
      // Written in tmp/ then linked into new/ by rename, as a maildir delivery must be.
      const tmpFile = join(path, 'tmp', name);
      await writeFile(tmpFile, raw);
      await chown(tmpFile, MAIL_UID, MAIL_GID);
      const { rename } = await import('node:fs/promises');
      await rename(tmpFile, join(path, 'new', name));
      return name;
    },
    async createFolder(user, folder) {
      await ensureMaildir(user, folder);
      const subscriptions = join(maildir(user), 'subscriptions');
      await writeFile(subscriptions, `${folder}\n`, { flag: 'a' });
      await chown(subscriptions, MAIL_UID, MAIL_GID);
    },
    async messages(user, folder) {
      const path = maildir(user, folder);
      // Dovecot renames files (new/ → cur/, flag changes) at any time: a file that vanished
      // between listing and reading means the listing is stale, so list again.
      for (let attempt = 0; ; attempt++) {
        const found: { file: string; raw: Buffer }[] = [];
        let vanished = false;
        for (const sub of ['new', 'cur']) {
          const names = await readdir(join(path, sub)).catch(() => [] as string[]);
          for (const file of names) {
            try {
              found.push({ file, raw: await readFile(join(path, sub, file)) });
            } catch (error) {
              if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 20) throw error;
              vanished = true;
            }
          }
        }
        if (!vanished)
          return found.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
      }
    },
    doveadm(...args) {
      const result = spawnSync('doveadm', ['-c', conf, ...args], {
        encoding: 'utf8',
        timeout: 10_000,
      });
      return {
        status: result.status ?? -1,
        output: `${result.stdout ?? ''}${result.stderr ?? ''}`,
      };
    },
    log: readLog,
    async stop(opts = {}) {
      if (stopped) return;
      stopped = true;
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exitPromise;
        clearTimeout(timer);
      }
      if (!opts.keepDir) await rm(dir, { recursive: true, force: true });
    },
  };
}
