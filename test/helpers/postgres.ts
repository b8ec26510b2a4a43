/**
 * A real PostgreSQL for storage tests, started by the test itself: `initdb` into a temporary
 * directory, `pg_ctl start` listening on a free port on 127.0.0.1 (and a socket in the same
 * directory), one database `malist`, stopped and removed by `stop()`.
 *
 * ```ts
 * const available = postgresAvailable();          // false (and a loud message) when missing
 * describe.skipIf(!available)('…', () => {
 *   let pg: Postgres;
 *   beforeAll(async () => { pg = await startPostgres(); }, 120_000);
 *   afterAll(() => pg?.stop());
 *   it('…', async () => { … pg.url … });          // postgres://malist@127.0.0.1:PORT/malist
 * });
 * ```
 *
 * PostgreSQL refuses to run as root: as root the server runs as the `postgres` user
 * (`runuser -u postgres --`) on a directory that user owns; as anyone else, as that user.
 * Durability settings stay PostgreSQL's defaults (fsync on) unless `fast: true` (speed runs
 * only, never the crash suites). Facts: /work/shared/notes/real-servers.md.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, chmod, chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './dovecot.js';

/** Debian's `postgresql` package puts its server programs here (the newest version wins). */
function binDir(): string | undefined {
  if (process.env.PG_BINDIR) return process.env.PG_BINDIR;
  for (const version of ['17', '16', '15', '14', '13']) {
    const dir = `/usr/lib/postgresql/${version}/bin`;
    if (existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir;
  }
  return undefined;
}

let warned = false;

/**
 * Whether PostgreSQL's server programs are installed. When they are not, prints a LOUD
 * message (once) so a skipped suite is not mistaken for a passing one; under `CI=true` it
 * throws instead, failing the suite.
 */
export function postgresAvailable(): boolean {
  if (binDir()) return true;
  const message =
    'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): the PostgreSQL storage ' +
    'tests are SKIPPED. Install the Debian package `postgresql` to run them.';
  if (process.env.CI === 'true') throw new Error(`${message} Under CI=true this is a failure.`);
  if (!warned) {
    warned = true;
    console.warn(`\n${'!'.repeat(100)}\n!!! ${message}\n${'!'.repeat(100)}\n`);
  }
  return false;
}

export interface StartPostgresOptions {
  /** fsync/synchronous_commit off, for speed runs only (never for crash tests). @default false */
  fast?: boolean;
  /** `max_connections`. @default 100 */
  maxConnections?: number;
}

export interface Postgres {
  /** `postgres://malist@127.0.0.1:PORT/malist` (trust authentication on loopback). */
  url: string;
  port: number;
  /** The temporary directory holding the cluster, its socket and its log. */
  dir: string;
  /** A fresh empty database on the same server; returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Runs one SQL text through `psql` (for assertions that must not trust malist's client). */
  psql(sql: string, database?: string): string;
  /** The server's log so far, for failing-test diagnostics. */
  log(): Promise<string>;
  /**
   * Stops the server as a crash would (`pg_ctl stop -m immediate`: every session ends at
   * once, no checkpoint), keeping its data for `restart()`.
   */
  crash(): void;
  /** Starts the server again on the same port and data (after `crash()`), recovering its WAL. */
  restart(): void;
  /** Stops this server (only the one this helper started) and removes the directory. */
  stop(opts?: { keepDir?: boolean }): Promise<void>;
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** Runs a PostgreSQL program as the `postgres` user when we are root, else as ourselves. */
function run(program: string, args: string[], opts: { input?: string } = {}): string {
  const bin = binDir();
  if (!bin) throw new Error('PostgreSQL is not installed');
  const file = program.includes('/') ? program : join(bin, program);
  const [command, argv] = isRoot
    ? ['runuser', ['-u', 'postgres', '--', file, ...args]]
    : [file, args];
  const result = spawnSync(command, argv, {
    encoding: 'utf8',
    input: opts.input,
    // The server inherits nothing from the test's environment but what it needs.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' },
    timeout: 120_000,
  });
  if (result.status !== 0) {
    throw new Error(
      `${program} ${args.join(' ')} failed (${result.status ?? result.signal}): ${result.stderr || result.stdout}`,
    );
  }
  return result.stdout;
}

/** Starts a PostgreSQL cluster of its own; see the module comment. */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<Postgres> {
  const dir = await mkdtemp(join(tmpdir(), 'malist-pg-'));
  // The parent (the run's TMPDIR) is 1777; the cluster's directory belongs to the server's user.
  await chmod(dir, 0o700);
  if (isRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    await chown(dir, uid, gid);
  }
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  run('initdb', [
    '-D',
    data,
    '-U',
    'malist',
    '--auth=trust',
    '-E',
    'UTF8',
    '--locale=C',
    '--no-sync',
  ]);
  const port = await freePort();
  const settings = [
    `listen_addresses = '127.0.0.1'`,
    `port = ${port}`,
    `unix_socket_directories = '${dir}'`,
    `max_connections = ${options.maxConnections ?? 100}`,
    'shared_buffers = 32MB',
    ...(options.fast ? ['fsync = off', 'synchronous_commit = off', 'full_page_writes = off'] : []),
  ];
  // Appending keeps the file's owner (the server's user).
  await appendFile(join(data, 'postgresql.conf'), `\n${settings.join('\n')}\n`);
  run('pg_ctl', ['-D', data, '-l', logFile, '-w', '-t', '120', 'start']);
  const psql = (sql: string, database = 'malist'): string =>
    run(
      'psql',
      [
        '-h',
        dir,
        '-p',
        String(port),
        '-U',
        'malist',
        '-d',
        database,
        '-v',
        'ON_ERROR_STOP=1',
        '-qAtX',
      ],
      {
        input: sql,
      },
    );
  psql('CREATE DATABASE malist;', 'postgres');
  const urlOf = (name: string) => `postgres://malist@127.0.0.1:${port}/${name}`;
  let stopped = false;
  return {
    url: urlOf('malist'),
    port,
    dir,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
      psql(`CREATE DATABASE ${name};`, 'postgres');
      return urlOf(name);
    },
    psql,
    log: () => readFile(logFile, 'utf8').catch(() => ''),
    crash() {
      run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', '-t', '60', 'stop']);
    },
    restart() {
      run('pg_ctl', ['-D', data, '-l', logFile, '-w', '-t', '120', 'start']);
    },
    async stop(opts = {}) {
      if (stopped) return;
      stopped = true;
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', '-t', '60', 'stop']);
      } catch {
        // Already gone: nothing of ours is running.
      }
      if (!opts.keepDir && process.env.MALIST_KEEP_TMP !== '1')
        await rm(dir, { recursive: true, force: true });
    },
  };
}
