/**
 * Issue 22's 1,000,000-member rows (`npm run bench -- --pg-million`, or `node --import tsx
 * bench/pg-million.ts [--members N]`): what an operator of a list that size feels, on files
 * (`members_file`, one member a line) and on PostgreSQL (`member_store: postgres`, a server
 * the script starts, fsync on). Every step is the real `malist` (bin/malist.js, a new
 * process each time) timed by time(1) for wall, CPU and peak RSS:
 *
 *   1. `members sync --file` of N lines into an empty list (the first load);
 *   2. `members list` (the whole list printed; its lines counted);
 *   3. `members sync --file` again with 1% removed and 1% new (a nightly roster sync);
 *   4. a post's fan-out setup: the list's members read and one queue entry of N VERP
 *      recipients written (files: the spool; PostgreSQL: queue_entries + N recipient rows),
 *      bench/million-enqueue.ts in its own process, deliver_now off, once as a post
 *      through the envelope processor does it (`array`) and once streamed (`stream`).
 *
 * `--fanout`: steps 1 and 4 only.
 *
 * Prints one JSON line per step.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres } from '../test/helpers/postgres.ts';
import { load1 } from './proc-cpu.ts';

export interface MillionRow {
  backend: 'files' | 'postgres';
  step: string;
  members: number;
  wallMs: number;
  cpuMs: number;
  rssMb: number;
  load: string;
  out: string;
}

const root = join(import.meta.dirname, '..');
const address = (i: number) => `member${i}@example${i % 97}.org`;

/** Writes a roster of members [from, to) plus `extra` new ones at the end, streamed. */
async function roster(file: string, from: number, to: number, extra: number): Promise<void> {
  const out = createWriteStream(file);
  const write = (s: string) =>
    out.write(s) ? undefined : new Promise<void>((r) => out.once('drain', () => r()));
  let chunk = '';
  for (let i = from; i < to + extra; i++) {
    chunk += `${address(i)}\n`;
    if (chunk.length > 1 << 16) {
      await write(chunk);
      chunk = '';
    }
  }
  await write(chunk);
  await new Promise<void>((resolve, reject) => out.end((e?: Error) => (e ? reject(e) : resolve())));
}

/** One timed command: time(1)'s wall, CPU (user + system) and peak RSS, and the last line out. */
function timed(
  cwd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  countLines = false,
): { wallMs: number; cpuMs: number; rssMb: number; out: string } {
  const started = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', 'cpu %U %S rss %M', process.execPath, ...args], {
    cwd,
    env,
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
  });
  const wallMs = performance.now() - started;
  if (r.status !== 0)
    throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr.slice(-2000)}`);
  const t = /cpu ([\d.]+) ([\d.]+) rss (\d+)\s*$/.exec(r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  return {
    wallMs,
    cpuMs: t ? (Number(t[1]) + Number(t[2])) * 1000 : Number.NaN,
    rssMb: t ? Math.round(Number(t[3]) / 1024) : Number.NaN,
    out: countLines ? `${lines.length} lines` : (lines.pop() ?? ''),
  };
}

/** `fanoutOnly`: the first load and the fan-out setups only (no list, no nightly sync). */
export async function millionRows(n: number, fanoutOnly = false): Promise<MillionRow[]> {
  const rows: MillionRow[] = [];
  const pg = await startPostgres();
  const work = await mkdtemp(join(tmpdir(), 'malist-bench-million-'));
  try {
    await roster(join(work, 'first.txt'), 0, n, 0);
    // 1% gone from the start, 1% new at the end.
    await roster(join(work, 'nightly.txt'), n / 100, n, n / 100);
    for (const backend of ['files', 'postgres'] as const) {
      const dir = join(work, backend);
      await mkdir(join(dir, 'lists'), { recursive: true });
      const storage =
        backend === 'postgres' ? 'storage:\n  type: postgres\n  url_env: DATABASE_URL\n' : '';
      await writeFile(
        join(dir, 'malist.yaml'),
        `state_dir: state\n${storage}distribute:\n  type: maildir\n  dir: out\n`,
      );
      await writeFile(
        join(dir, 'lists', 'big.yaml'),
        `address: big@list.example.com\nposting: members\n${backend === 'postgres' ? 'member_store: postgres\n' : 'members_file: big.members\n'}`,
      );
      if (backend === 'files') await writeFile(join(dir, 'lists', 'big.members'), '');
      const env = {
        ...process.env,
        ...(backend === 'postgres' ? { DATABASE_URL: pg.url } : {}),
      };
      const malist = [join(root, 'bin/malist.js')];
      const step = (name: string, args: string[], count = false) => {
        const t = timed(dir, args, env, count);
        rows.push({ backend, step: name, members: n, load: load1(), ...t });
      };
      step('members sync --file (first load, all new)', [
        ...malist,
        'members',
        'sync',
        'big',
        '--file',
        join(work, 'first.txt'),
        '--config',
        '.',
      ]);
      if (!fanoutOnly)
        step(
          'members list (printed, lines counted)',
          [...malist, 'members', 'list', 'big', '--config', '.'],
          true,
        );
      if (!fanoutOnly)
        step('members sync --file (1% gone, 1% new)', [
          ...malist,
          'members',
          'sync',
          'big',
          '--file',
          join(work, 'nightly.txt'),
          '--config',
          '.',
        ]);
      // Each mode in its own process (million-enqueue.ts): `array` is a post through the
      // envelope processor, `stream` the members' pages into the queue as they come.
      for (const mode of ['array', 'stream'] as const)
        step(`fan-out setup (${mode}): members read, one queue entry of every recipient`, [
          '--import',
          join(root, 'node_modules/tsx/dist/esm/index.mjs'),
          join(root, 'bench/million-enqueue.ts'),
          JSON.stringify({
            backend,
            config: dir,
            url: backend === 'postgres' ? pg.url : undefined,
            mode,
          }),
        ]);
    }
  } finally {
    await pg.stop();
    await rm(work, { recursive: true, force: true });
  }
  return rows;
}

if (process.argv[1]?.endsWith('pg-million.ts')) {
  const i = process.argv.indexOf('--members');
  const n = i > 0 ? Number(process.argv[i + 1]) : 1_000_000;
  for (const row of await millionRows(n, process.argv.includes('--fanout')))
    process.stdout.write(`${JSON.stringify(row)}\n`);
}
