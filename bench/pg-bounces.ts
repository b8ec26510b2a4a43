/**
 * Bounce intake on the files against PostgreSQL: DSNs mailed to members' VERP bounce
 * addresses, each handled by the list's bounce handler (classify, prove the cookie, score
 * the member, remember the replies) in worker processes — one worker on the files under a
 * state directory; one and two workers on one database (each with a state directory of its
 * own, as two hosts). 1,000 members; every DSN a hard bounce of a different post, so each
 * one scores (a member is probed at the threshold, never disabled: the probe is not sent).
 *
 *   node --import tsx bench/pg-bounces.ts [--dsns 2000] [--url postgres://…]
 *   npm run bench -- --pg          (after the fan-out rows)
 *
 * A worker is this file run with --worker (it prints what it handled, when, its CPU and RSS).
 * The wall time runs from the first DSN any worker takes to the last one done (the workers'
 * start-up, a few seconds of module loading, is left out).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import createBounceHandler from '../src/bounces/handler.ts';
import { pgBounceStorage } from '../src/bounces/pg-store.ts';
import { fileBounceStorage } from '../src/bounces/store.ts';
import type { ListSettings } from '../src/list/settings.ts';
import { memberBounceAddress } from '../src/list/verp.ts';
import { createListMail } from '../src/mail/list-mail.ts';
import { verpDecode } from '../src/mail/verp.ts';
import createMemoryMemberStore from '../src/members/memory.ts';
import { openDatabase } from '../src/state/pg.ts';
import { hardBounce } from '../test/helpers/dsn.ts';
import { freshDatabase, runSelfAsWorker } from './self-worker.ts';

const MEMBERS = 1000;
const list: ListSettings = { name: 'red', address: 'red@list.example', members: [] };
const secret = Buffer.alloc(32, 7);
const args = process.argv.slice(2);
const arg = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

interface WorkerOut {
  handled: number;
  /** When its first DSN was taken and its last one done (ms since epoch). */
  began: number;
  ended: number;
  cpuMs: number;
  rssMb: number;
}

async function worker(): Promise<void> {
  const [state, url] = [arg('--state')!, arg('--url')];
  const [from, count] = [Number(arg('--from')), Number(arg('--count'))];
  const db = url ? await openDatabase(url, { max: 2 }) : undefined;
  const storage = db ? await pgBounceStorage(db) : fileBounceStorage(state);
  const members = Array.from({ length: MEMBERS }, (_, i) => ({ address: `m${i}@example.org` }));
  const handler = createBounceHandler(list, {
    store: createMemoryMemberStore({ members }),
    state_dir: state,
    secret,
    storage,
    threshold: 1e9,
    daily_cap: 1e9,
  });
  // The DSNs made before the clock starts: the handling is what is measured.
  const now = Date.now();
  const mails = Array.from({ length: count }, (_, k) => {
    const i = from + k;
    const member = `m${i % MEMBERS}@example.org`;
    const to = memberBounceAddress(list, secret, member, now);
    const raw = Buffer.from(hardBounce({ to, recipient: member, n: `b${i}` }));
    return {
      mail: createListMail(raw, { fetcher: 'bench', id: `dsn${i}` }),
      verp: verpDecode('red-bounces@list.example', to)!,
    };
  });
  const started = process.cpuUsage();
  const began = Date.now();
  let handled = 0;
  for (const { mail, verp } of mails) {
    await handler.handle(mail, verp).catch((signal: { message?: string }) => {
      if (!/bounce recorded/.test(signal.message ?? '')) throw signal;
    });
    handled++;
  }
  const cpu = process.cpuUsage(started);
  const ended = Date.now();
  await db?.close();
  const out: WorkerOut = {
    handled,
    began,
    ended,
    cpuMs: (cpu.user + cpu.system) / 1000,
    rssMb: Math.round(process.memoryUsage().rss / 2 ** 20),
  };
  process.stdout.write(JSON.stringify(out));
}

function runWorker(extra: string[]): Promise<WorkerOut> {
  return runSelfAsWorker<WorkerOut>(import.meta.filename, extra);
}

export interface BounceRow {
  case: string;
  n: number;
  perSecond: number;
  wallMs: number;
  note: string;
}

/** `dsns` DSNs split over `workers` workers on the files (one state_dir) or one database. */
async function round(work: string, dsns: number, workers: number, url?: string) {
  const share = Math.ceil(dsns / workers);
  const outs = await Promise.all(
    Array.from({ length: workers }, (_, w) =>
      runWorker([
        '--state',
        join(work, url ? `state${w}` : 'state'),
        '--from',
        String(w * share),
        '--count',
        String(Math.min(share, dsns - w * share)),
        ...(url ? ['--url', url] : []),
      ]),
    ),
  );
  // From the first worker's first DSN to the last one's last: process start-up left out.
  const wallMs = Math.max(...outs.map((o) => o.ended)) - Math.min(...outs.map((o) => o.began));
  const handled = outs.reduce((a, o) => a + o.handled, 0);
  if (handled !== dsns) throw new Error(`handled ${handled} of ${dsns}`);
  return { wallMs, outs };
}

/** The rows: files, PostgreSQL with 1 and 2 workers; checks every DSN scored once. */
export async function pgBounceRows(dsns: number, url?: string): Promise<BounceRow[]> {
  const work = await mkdtemp(join(tmpdir(), 'malist-bench-pgb-'));
  let stop = async () => {};
  if (!url) {
    const { startPostgres } = await import('../test/helpers/postgres.ts');
    const server = await startPostgres();
    stop = () => server.stop();
    url = server.url;
  }
  const rows: BounceRow[] = [];
  try {
    const cases: Array<[string, number]> = [
      ['files', 1],
      ['postgres', 1],
      ['postgres', 2],
    ];
    for (const [how, workers] of cases) {
      const dir = join(work, `${how}${workers}`);
      const where =
        how === 'postgres'
          ? await freshDatabase(url, `bounces_${workers}_${Date.now()}`)
          : undefined;
      const r = await round(dir, dsns, workers, where);
      const storage = where
        ? await openDatabase(where).then(async (db) => ({ db, s: await pgBounceStorage(db) }))
        : undefined;
      const records = await (storage?.s ?? fileBounceStorage(join(dir, 'state')))
        .records('red')
        .all();
      await storage?.db.close();
      const counted = Object.values(records).reduce((a, rec) => a + rec.count, 0);
      if (counted !== dsns)
        throw new Error(`${how} ${workers}: ${counted} of ${dsns} bounces counted`);
      rows.push({
        case: `bounce intake on ${how === 'files' ? 'files' : 'PostgreSQL'}, ${workers} worker${workers > 1 ? 's' : ''}`,
        n: dsns,
        perSecond: (dsns / r.wallMs) * 1000,
        wallMs: r.wallMs,
        note: `${MEMBERS} members, every DSN counted once (${counted}); worker CPU ${r.outs.map((o) => Math.round(o.cpuMs)).join('/')} ms, RSS ${r.outs.map((o) => o.rssMb).join('/')} MB`,
      });
    }
  } finally {
    await stop();
    await rm(work, { recursive: true, force: true });
  }
  return rows;
}

if (args.includes('--worker')) await worker();
else if (import.meta.filename === process.argv[1]) {
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
  process.stdout.write(`load before ${load()}\n`);
  for (const row of await pgBounceRows(Number(arg('--dsns') ?? 2000), arg('--url')))
    process.stdout.write(
      `${row.case}: ${Math.round(row.perSecond)} DSNs/s (${row.n} in ${(row.wallMs / 1000).toFixed(2)} s); ${row.note}\n`,
    );
  process.stdout.write(`load after ${load()}\n`);
}
