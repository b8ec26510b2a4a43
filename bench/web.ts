/**
 * The web pages of a big list (issue 20): the held queue (200 posts) and the members page
 * of a 100,000-member list, 200 requests each over HTTP after a warm-up, against
 * `malist serve` as an operator runs it — its own process, the compiled build (dist/;
 * `npm run build` first: when dist/ is stale the sources run through tsx and the rows say
 * `tsx`; `fromSource` asks for that on purpose). The server's own time per request comes from
 * its Server-Timing header (p50, p95); its RSS from /proc (after the requests, and the
 * peak). Goals: p95 under 50 ms, RSS under 120 MB.
 *   npm run bench -- --web            (npm run bench -- --web --from-source: through tsx)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildIsCurrent } from '../scripts/compiled.js';
import { createListMail } from '../src/mail/list-mail.ts';
import { heldStore } from '../src/moderation/held.ts';
import { openSite } from '../src/web/site.ts';

export interface WebCaseOutput {
  members: number;
  held: number;
  /** 'compiled' (dist/) or 'tsx' (the sources). */
  runs: string;
  pages: Array<{ page: string; p50: number; p95: number }>;
  rssMb: number;
  peakRssMb: number;
}

const ROOT = join(import.meta.dirname, '..');
const MEMBERS = 100_000;
const HELD = 200;
const REQUESTS = 200;

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

/** VmRSS and VmHWM (the peak) of a process, MB. */
async function rssOf(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1]);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** `malist serve` on a free port; resolves with its URL once it listens. */
async function startServe(dir: string, fromSource: boolean) {
  const child: ChildProcess = spawn(
    process.execPath,
    [join(ROOT, 'bin', 'malist.js'), 'serve', '--config', dir, '--listen', '127.0.0.1:0'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, MALIST_FROM_SOURCE: fromSource ? '1' : '0' },
    },
  );
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`malist serve exited ${code}: ${err}`)));
  });
  return { child, url };
}

export async function webCase(options: { fromSource?: boolean } = {}): Promise<WebCaseOutput> {
  // The compiled server when dist/ is current; otherwise the sources, and the rows say so.
  const fromSource = options.fromSource ?? !buildIsCurrent(ROOT);
  const dir = await mkdtemp(join(tmpdir(), 'malist-bench-web-'));
  try {
    await mkdir(join(dir, 'lists'));
    await writeFile(join(dir, 'malist.yaml'), 'state_dir: state\ndistribute: { type: log }\n');
    const members = Array.from({ length: MEMBERS }, (_, i) => `member${i}@example.com\n`).join('');
    await writeFile(join(dir, 'lists', 'big.txt'), members);
    await writeFile(
      join(dir, 'lists', 'big.yaml'),
      'address: big@list.example.com\nmembers_file: big.txt\n',
    );
    // The held posts and the admin's password, written here; the server reads them.
    const site = await openSite({ dir });
    try {
      const store = heldStore(site.current().runtime.moderation, 'big');
      for (let i = 0; i < HELD; i++) {
        const raw = Buffer.from(
          `From: poster${i}@elsewhere.example\r\nTo: big@list.example.com\r\nSubject: held post ${i}\r\n` +
            `Message-ID: <held-${i}@bench>\r\n\r\nbody ${i}\r\n`,
        );
        await store.put(createListMail(raw, { fetcher: 'bench', id: `held-${i}` }), {
          reason: 'bench',
          unit: 'bench',
          list: 'big',
        });
      }
      await site.credentials.setPassword('admin', 'bench password');
    } finally {
      await site.close();
    }
    const { child, url } = await startServe(dir, fromSource);
    try {
      const first = await fetch(`${url}/admin/login`);
      const pre = (first.headers.get('set-cookie') ?? '').split(';')[0]!;
      const csrf = /name="_csrf" value="([^"]+)"/.exec(await first.text())?.[1] ?? '';
      const login = await fetch(`${url}/admin/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          cookie: pre,
          origin: url,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({
          _csrf: csrf,
          user: 'admin',
          password: 'bench password',
        }).toString(),
      });
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
      const pages: WebCaseOutput['pages'] = [];
      for (const page of [
        '/lists/big/held',
        '/lists/big/members',
        '/lists/big/members?q=member99999',
      ]) {
        const times: number[] = [];
        for (let i = 0; i < REQUESTS + 10; i++) {
          const r = await fetch(`${url}${page}`, { headers: { cookie } });
          if (r.status !== 200) throw new Error(`${page}: ${r.status}`);
          await r.arrayBuffer();
          const dur = Number(/app;dur=([\d.]+)/.exec(r.headers.get('server-timing') ?? '')?.[1]);
          if (i >= 10) times.push(dur);
        }
        times.sort((a, b) => a - b);
        pages.push({ page, p50: quantile(times, 0.5), p95: quantile(times, 0.95) });
      }
      const { rss, peak } = await rssOf(child.pid!);
      return {
        members: MEMBERS,
        held: HELD,
        runs: fromSource ? 'tsx' : 'compiled',
        pages,
        rssMb: rss,
        peakRssMb: peak,
      };
    } finally {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
