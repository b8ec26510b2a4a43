/**
 * The archive's pages over HTTP (issue 21, part of `npm run bench -- --archive`): the
 * server `malist serve` started as its own process (the compiled build when it is current,
 * as an installation runs it) on the benchmark's archive, with a public list; 100 month
 * pages (a random month's first page of threads) and 100 search pages (the archive case's
 * queries), each timed by the client (wall) and by the server (its Server-Timing `app`
 * time), and the server's CPU time over each hundred (a mean that load does not inflate);
 * then the server's RSS (VmRSS) and peak (VmHWM) from /proc.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { SearchOptions } from '../src/archive/search.ts';

export interface PagesCaseOutput {
  compiled: boolean;
  monthP50: number;
  monthP95: number;
  monthServerP95: number;
  /** The server's CPU time (user + system) per month page, the mean of the 100. */
  monthCpuMean: number;
  searchP50: number;
  searchP95: number;
  searchServerP95: number;
  searchCpuMean: number;
  rssMb: number;
  peakRssMb: number;
}

const ROOT = join(import.meta.dirname, '..');

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

async function waitListening(child: ChildProcess): Promise<void> {
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const deadline = Date.now() + 300_000;
  while (!out.includes('listening on')) {
    if (child.exitCode !== null) throw new Error(`malist serve exited ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error('malist serve did not start in 5 minutes');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function timed(url: string): Promise<{ wall: number; server: number }> {
  const started = performance.now();
  const response = await fetch(url);
  await response.arrayBuffer();
  const wall = performance.now() - started;
  if (response.status !== 200) throw new Error(`${url}: ${response.status}`);
  const app = /app;dur=([\d.]+)/.exec(response.headers.get('server-timing') ?? '');
  return { wall, server: app ? Number(app[1]) : Number.NaN };
}

/** The server's CPU time so far, ms (utime + stime of /proc/PID/stat, 10 ms ticks). */
async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function kib(status: string, field: string): number {
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
}

/** Serves `root` (an archive holding `list`) and times its pages. */
export async function pagesCase(
  work: string,
  root: string,
  list: string,
  months: string[],
  queries: SearchOptions[],
  pick: <T>(items: readonly T[]) => T,
): Promise<PagesCaseOutput> {
  const config = join(work, 'serve');
  await mkdir(join(config, 'lists'), { recursive: true });
  await writeFile(
    join(config, 'malist.yaml'),
    `state_dir: state\ndistribute: { type: archive, dir: ${JSON.stringify(root)} }\n`,
  );
  await writeFile(
    join(config, 'lists', `${list}.yaml`),
    `address: ${list}@list.example.com\narchive: { web: public }\n`,
  );
  const { buildIsCurrent } = (await import(join(ROOT, 'scripts', 'compiled.js'))) as {
    buildIsCurrent: (root: string) => boolean;
  };
  const compiled = buildIsCurrent(ROOT);
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bin', 'malist.js'), 'serve', '--config', config, '--port', String(port)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    await waitListening(child);
    const base = `http://127.0.0.1:${port}/archive/${list}`;
    for (let i = 0; i < 5; i++) await timed(`${base}/${pick(months)}`);
    const month = [];
    const cpu0 = await cpuMs(child.pid!);
    for (let i = 0; i < 100; i++) month.push(await timed(`${base}/${pick(months)}`));
    const cpu1 = await cpuMs(child.pid!);
    const found = [];
    for (const q of queries) {
      const params = new URLSearchParams();
      for (const key of ['q', 'from', 'after', 'before'] as const)
        if (q[key] !== undefined) params.set(key, String(q[key]));
      found.push(await timed(`${base}/search?${params}`));
    }
    const cpu2 = await cpuMs(child.pid!);
    const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
    const at = (runs: Array<{ wall: number; server: number }>, key: 'wall' | 'server', p: number) =>
      percentile(
        runs.map((r) => r[key]),
        p,
      );
    return {
      compiled,
      monthP50: at(month, 'wall', 50),
      monthP95: at(month, 'wall', 95),
      monthServerP95: at(month, 'server', 95),
      monthCpuMean: (cpu1 - cpu0) / month.length,
      searchP50: at(found, 'wall', 50),
      searchP95: at(found, 'wall', 95),
      searchServerP95: at(found, 'server', 95),
      searchCpuMean: (cpu2 - cpu1) / found.length,
      rssMb: kib(status, 'VmRSS') / 1024,
      peakRssMb: kib(status, 'VmHWM') / 1024,
    };
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null) await once(child, 'exit');
  }
}
