/**
 * The web pages of a big list (issue 20): the held queue (200 posts) and the members page
 * of a 100,000-member list, 200 requests each over HTTP after a warm-up; the server's own
 * time per request from its Server-Timing header (p50, p95) and the process's RSS
 * afterwards (the server runs in this process; nothing else is loaded). Goals: p95 under
 * 50 ms, RSS under 120 MB.
 *   npm run bench -- --web
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createListMail } from '../src/mail/list-mail.ts';
import { heldStore } from '../src/moderation/held.ts';
import { startWeb } from '../src/web/server.ts';

export interface WebCaseOutput {
  members: number;
  held: number;
  pages: Array<{ page: string; p50: number; p95: number }>;
  rssMb: number;
}

const MEMBERS = 100_000;
const HELD = 200;
const REQUESTS = 200;

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

export async function webCase(): Promise<WebCaseOutput> {
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
    const web = await startWeb({ dir, port: 0 });
    try {
      const state = web.site.current();
      const store = heldStore(state.runtime.moderation, 'big');
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
      await web.site.credentials.setPassword('admin', 'bench password');
      const first = await fetch(`${web.url}/admin/login`);
      const pre = (first.headers.get('set-cookie') ?? '').split(';')[0]!;
      const csrf = /name="_csrf" value="([^"]+)"/.exec(await first.text())?.[1] ?? '';
      const login = await fetch(`${web.url}/admin/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          cookie: pre,
          origin: web.url,
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
          const r = await fetch(`${web.url}${page}`, { headers: { cookie } });
          if (r.status !== 200) throw new Error(`${page}: ${r.status}`);
          await r.arrayBuffer();
          const dur = Number(/app;dur=([\d.]+)/.exec(r.headers.get('server-timing') ?? '')?.[1]);
          if (i >= 10) times.push(dur);
        }
        times.sort((a, b) => a - b);
        pages.push({ page, p50: quantile(times, 0.5), p95: quantile(times, 0.95) });
      }
      return { members: MEMBERS, held: HELD, pages, rssMb: process.memoryUsage().rss / 1048576 };
    } finally {
      await web.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
