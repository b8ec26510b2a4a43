/** Spawning `node bin/malist.js …` as users run it, with a timeout and temp directories. */
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const MALIST = join(ROOT, 'bin/malist.js');

export interface Ran {
  code: number | null;
  /** The signal that ended it (SIGKILL after a crash point or the timeout), or null. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command with `input` on stdin; killed after `timeoutMs`. */
export function runCommand(
  command: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: Buffer | string; timeoutMs?: number } = {},
): Promise<Ran> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    // Only a hung command takes this long; a loaded machine runs one in seconds.
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** `malist ARGS` in `cwd`. */
export function malist(
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: Buffer | string; timeoutMs?: number } = {},
): Promise<Ran> {
  return runCommand(process.execPath, [MALIST, ...args], opts);
}

/** A temp config dir with the shipped lists and a malist.yaml delivering into maildirs. */
export async function tempConfig(mainYaml?: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'malist-cli-'));
  await cp(join(ROOT, 'lists'), join(dir, 'lists'), { recursive: true });
  await writeFile(
    join(dir, 'malist.yaml'),
    mainYaml ??
      'state_dir: state\ndistribute:\n  type: maildir\n  dir: out\ndelivery_log: delivery.log\nreactors: [stderr-logger]\n',
  );
  return dir;
}

/**
 * Two hosts' configuration directories from README's storage example, as it is printed
 * there (one malist.yaml, each its own state_dir, the database from DATABASE_URL).
 */
export async function readmeStorageHosts(): Promise<[string, string]> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const yaml = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)]
    .map((m) => m[1] as string)
    .find((b) => b.includes('state_dir stays each host'));
  if (!yaml) throw new Error("README.md has no yaml block saying 'state_dir stays each host'");
  return Promise.all([tempConfig(yaml), tempConfig(yaml)]);
}

/** An example post's bytes. */
export function post(name: string): string {
  return join(ROOT, 'examples/posts', name);
}
