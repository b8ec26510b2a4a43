/**
 * mlmmj (C, Debian package mlmmj 1.3) on the same sink, for the side-by-side figures: a
 * list made with mlmmj-make-ml, members written straight into subscribers.d (mlmmj-sub
 * costs ~3 ms a call), relayhost/smtpport pointed at the sink, and one post received with
 * `mlmmj-receive -F` (synchronous), timed with /usr/bin/time -v for its peak RSS.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeMembers, makePost, POSTER } from './post.ts';

const BIN = '/usr/bin';

export function mlmmjInstalled(): boolean {
  return existsSync(join(BIN, 'mlmmj-make-ml')) && existsSync(join(BIN, 'mlmmj-receive'));
}

export interface MlmmjRun {
  t0: number;
  exitAt: number;
  maxRssKb: number | undefined;
  exitCode: number | null;
}

function run(
  command: string,
  args: string[],
  stdin: string | number,
  timeoutMs: number,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: [typeof stdin === 'number' ? stdin : 'pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
    if (typeof stdin === 'string') child.stdin?.end(stdin);
  });
}

/**
 * Sends one post of `bodyBytes` to `members` members through mlmmj. `batched` sets an
 * empty control/verp (maxverprecips recipients, default 100, per transaction, a new
 * connection per batch); otherwise mlmmj's default, one transaction per member.
 */
export async function runMlmmj(options: {
  port: number;
  members: number;
  batched: boolean;
  bodyBytes: number;
  faults?: boolean;
  /** Where the list's spool goes. @default the system's temp directory */
  workDir?: string;
  timeoutMs: number;
}): Promise<MlmmjRun> {
  const spool = await mkdtemp(join(options.workDir ?? tmpdir(), 'mlmmj-bench-'));
  try {
    const made = await run(
      join(BIN, 'mlmmj-make-ml'),
      ['-L', 'bench', '-s', spool],
      'list.example.test\nowner@example.test\nen\n',
      30_000,
    );
    if (made.code !== 0) throw new Error(`mlmmj-make-ml failed: ${made.stderr}`);
    const dir = join(spool, 'bench');
    await writeFile(join(dir, 'control', 'smtpport'), `${options.port}\n`);
    await writeFile(join(dir, 'control', 'relayhost'), '127.0.0.1\n');
    if (options.batched) await writeFile(join(dir, 'control', 'verp'), '');
    // subscribers.d/<first letter>: mlmmj reads every file there.
    const byLetter = new Map<string, string[]>();
    for (const m of makeMembers(options.members, options.faults)) {
      const list = byLetter.get(m[0] as string) ?? [];
      list.push(m);
      byLetter.set(m[0] as string, list);
    }
    for (const [letter, list] of byLetter) {
      await writeFile(join(dir, 'subscribers.d', letter), `${list.join('\n')}\n`);
    }
    const postPath = join(spool, 'post.eml');
    await writeFile(postPath, makePost(options.bodyBytes, `mlmmj.${Date.now()}`));
    const post = await open(postPath, 'r');
    try {
      const t0 = performance.timeOrigin + performance.now();
      const done = await run(
        '/usr/bin/time',
        ['-v', join(BIN, 'mlmmj-receive'), '-F', '-L', dir, '-s', POSTER],
        post.fd,
        options.timeoutMs,
      );
      const exitAt = performance.timeOrigin + performance.now();
      const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(done.stderr);
      return { t0, exitAt, maxRssKb: rss ? Number(rss[1]) : undefined, exitCode: done.code };
    } finally {
      await post.close();
    }
  } finally {
    await rm(spool, { recursive: true, force: true });
  }
}
