/**
 * A throw-away malist configuration for the reliability suites (faults, concurrency,
 * corpus, secrets): malist.yaml with the durable queue to a test SMTP server, two lists
 * (`red`: members only, non-members held; `open`: anyone), stderr-logger and json-log,
 * and `malist …` run as a user runs it (node bin/malist.js), with a timeout.
 */
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Ran, runCommand } from '../cli/run-malist.ts';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const MALIST = join(ROOT, 'bin', 'malist.js');
/** Loaded before malist by `fsFault` runs: simulates ENOSPC/EACCES on chosen paths. */
export const FS_FAULT_PRELOAD = join(ROOT, 'test', 'helpers', 'crash-fs-fault.ts');

export const RED_MEMBERS = ['alice@example.org', 'bob@example.org', 'carol@example.org'];
export const OPEN_MEMBERS = ['dave@example.org', 'erin@example.org'];

export interface ConfigOptions {
  /** The SMTP server's port (queue distributor). */
  smtpPort: number;
  /** Extra `servers.out` settings (timeouts, TLS, auth). */
  smtp?: Record<string, unknown>;
  /** The queue's spool, relative to the config dir. @default spool */
  spool?: string;
  /** Extra malist.yaml text (e.g. a fetch: section). */
  extra?: string;
  /** Extra list settings for red.yaml. */
  red?: Record<string, unknown>;
}

function yamlValue(value: unknown): string {
  return JSON.stringify(value); // JSON is YAML
}

/** malist.yaml's text for these options. */
export function mainYaml(opts: ConfigOptions): string {
  const smtp = {
    host: '127.0.0.1',
    port: opts.smtpPort,
    starttls: 'never',
    connection_timeout_ms: 3000,
    greeting_timeout_ms: 3000,
    socket_timeout_ms: 3000,
    transaction_timeout_ms: 6000,
    ...opts.smtp,
  };
  return [
    'state_dir: state',
    'lists_dir: lists',
    'servers:',
    '  out:',
    ...Object.entries(smtp)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `    ${k}: ${yamlValue(v)}`),
    // An empty inbox: `malist run` then only works the queue, as cron's next run would.
    'fetch:',
    '  - type: maildir',
    '    dir: inbox',
    'distribute:',
    '  type: queue',
    '  server: out',
    'queue:',
    `  dir: ${opts.spool ?? 'spool'}`,
    '  retry: { initial_seconds: 1, factor: 1, max_seconds: 1 }',
    'reactors:',
    '  - stderr-logger',
    '  - type: json-log',
    '    file: events.jsonl',
    'delivery_log: delivery.log',
    opts.extra ?? '',
    '',
  ].join('\n');
}

/** Writes a config directory; returns its path. */
export async function writeConfig(opts: ConfigOptions, dir?: string): Promise<string> {
  const root = dir ?? (await mkdtemp(join(tmpdir(), 'malist-rel-')));
  await mkdir(join(root, 'lists'), { recursive: true });
  for (const sub of ['new', 'cur', 'tmp'])
    await mkdir(join(root, 'inbox', sub), { recursive: true });
  await writeFile(join(root, 'malist.yaml'), mainYaml(opts));
  const red = {
    address: 'red@list.example.com',
    display_name: 'Red mail list',
    posting: 'members',
    non_member_action: 'hold',
    subject_prefix: '[Red] ',
    members: RED_MEMBERS,
    ...opts.red,
  };
  await writeFile(join(root, 'lists', 'red.yaml'), `${JSON.stringify(red, null, 2)}\n`);
  const open = {
    address: 'open@list.example.com',
    display_name: 'Open list',
    posting: 'open',
    subject_prefix: '[open] ',
    members: OPEN_MEMBERS,
  };
  await writeFile(join(root, 'lists', 'open.yaml'), `${JSON.stringify(open, null, 2)}\n`);
  return root;
}

export type { Ran };

/** Runs `malist ARGS` (optionally with a preload for fs faults); never rejects. */
export function malist(
  args: string[],
  opts: {
    cwd?: string;
    env?: NodeJS.ProcessEnv;
    input?: Buffer | string;
    timeoutMs?: number;
    /** Simulate a file-system fault: `ENOSPC:<path part>` or `EACCES:<path part>`. */
    fsFault?: string;
  } = {},
): Promise<Ran> {
  const node = opts.fsFault ? ['--import', 'tsx', '--import', FS_FAULT_PRELOAD] : [];
  return runCommand(process.execPath, [...node, MALIST, ...args], {
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    env: {
      MALIST_CRASH_AT: '',
      ...(opts.fsFault ? { MALIST_TEST_FS_FAULT: opts.fsFault } : {}),
      ...opts.env,
    },
    ...(opts.input !== undefined ? { input: opts.input } : {}),
    timeoutMs: opts.timeoutMs ?? 60_000,
  });
}

/** The json-log's events (one object per line); [] when there is none yet. */
export async function events(dir: string): Promise<Record<string, unknown>[]> {
  const text = await readFile(join(dir, 'events.jsonl'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        return { unparsable: line };
      }
    });
}

/** A post to a list, with a unique Message-ID. */
export function listPost(opts: {
  id: string;
  from?: string;
  to?: string;
  subject?: string;
  body?: string;
}): Buffer {
  return Buffer.from(
    [
      `From: Alice <${opts.from ?? 'alice@example.org'}>`,
      `To: ${opts.to ?? 'red@list.example.com'}`,
      `Subject: ${opts.subject ?? `post ${opts.id}`}`,
      `Message-ID: <${opts.id}>`,
      'Date: Mon, 23 Nov 2026 12:00:00 +0000',
      '',
      opts.body ?? `Body of ${opts.id}.`,
      '',
    ].join('\r\n'),
  );
}
