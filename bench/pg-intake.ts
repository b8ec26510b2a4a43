/**
 * Intake across worker processes with the journal on PostgreSQL against the files: 1,000
 * posts (2 KB, one list's worth of processing left out: the journal is what is measured),
 * each worker `play()`ing its share from its own maildir into a distributor that only
 * counts, all workers sharing one journal — the files under one state directory (one
 * host), or one database (any number of hosts). Also one worker alone, and one worker on
 * files with the claim left out (the journal as it was before claims) to price the claim.
 *
 *   node --import tsx bench/pg-intake.ts [--posts 1000] [--url postgres://…]
 *
 * Without --url it starts a PostgreSQL of its own (test/helpers/postgres.ts, fsync on) and
 * reports its CPU. `npm run bench -- --pg` prints the same table after the fan-out rows.
 * A worker is this file run with --worker (it prints its CPU time and RSS as JSON).
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import createMaildirFetcher from '../src/fetchers/maildir.ts';
import { play } from '../src/play.ts';
import { FileJournal, type Journal } from '../src/state/journal.ts';
import { openDatabase } from '../src/state/pg.ts';
import { PgJournal } from '../src/state/pg-journal.ts';
import { load1, postgresCounters, postgresCpuMs } from './proc-cpu.ts';
import { freshDatabase, runSelfAsWorker } from './self-worker.ts';

const args = process.argv.slice(2);
const arg = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

async function worker(): Promise<void> {
  const [inbox, state, how] = [arg('--inbox')!, arg('--state')!, arg('--journal')!];
  const started = process.cpuUsage();
  let journal: Journal = new FileJournal(join(state, 'journal'));
  let close = async () => {};
  if (how === 'postgres') {
    const db = await openDatabase(arg('--url')!);
    const pgJournal = await PgJournal.open(db);
    journal = pgJournal;
    close = async () => {
      await pgJournal.close();
      await db.close();
    };
  } else if (how === 'files-no-claim') {
    const files = journal;
    journal = {
      get: (s, k) => files.get(s, k),
      recent: (s, t) => files.recent(s, t),
      record: (s, k, e) => files.record(s, k, e),
      put: (s, k, e) => files.put(s, k, e),
      scopes: () => files.scopes(),
      claim: async () => ({ release: async () => {} }),
    };
  }
  let delivered = 0;
  const t0 = performance.timeOrigin + performance.now();
  const cpu0 = process.cpuUsage();
  const summary = await play({
    fetcher: createMaildirFetcher({ dir: inbox }),
    // The list's envelope, without its pipeline: the journal is what is measured.
    processor: {
      name: 'envelope',
      async process(mail) {
        mail.ml_list_name = 'red';
        mail.ml_send_to = ['ann@example.org', 'bob@example.org'];
        return mail;
      },
    },
    distributor: {
      name: 'count',
      async distribute(mail) {
        delivered++;
        return {
          results: (mail.ml_send_to ?? ['x@example.org']).map((recipient) => ({
            recipient,
            status: 'delivered' as const,
            distributor: 'count',
          })),
        };
      },
    },
    stateDir: state,
    journal,
    concurrency: 4,
  });
  const playCpu = process.cpuUsage(cpu0);
  const t1 = performance.timeOrigin + performance.now();
  await close();
  const cpu = process.cpuUsage(started);
  process.stdout.write(
    JSON.stringify({
      fetched: summary.fetched,
      delivered,
      t0,
      t1,
      playCpuMs: (playCpu.user + playCpu.system) / 1000,
      cpuMs: (cpu.user + cpu.system) / 1000,
      rssMb: process.memoryUsage().rss / 2 ** 20,
    }),
  );
}

function post(i: number): string {
  const body = `${'lorem ipsum dolor sit amet '.repeat(70)}\n`;
  return `From: poster${i % 50}@example.net\nTo: red@list.example.com\nSubject: post ${i}\nMessage-ID: <intake-${i}@example.net>\n\n${body}`;
}

interface Outcome {
  fetched: number;
  delivered: number;
  /** When its play() began and ended (epoch ms), and the CPU it used meanwhile. */
  t0: number;
  t1: number;
  playCpuMs: number;
  /** The whole process's CPU (with start-up and opening the journal). */
  cpuMs: number;
  rssMb: number;
}

function runWorker(extra: string[]): Promise<Outcome> {
  return runSelfAsWorker<Outcome>(import.meta.filename, extra);
}

/** `posts` posts split over `workers` maildirs; all workers on one journal; wall time. */
async function round(
  how: 'files' | 'files-no-claim' | 'postgres',
  workers: number,
  posts: number,
  url?: string,
  pgData?: string,
) {
  const root = await mkdtemp(join(tmpdir(), 'malist-pg-intake-'));
  const state = join(root, 'state');
  for (let w = 0; w < workers; w++)
    for (const sub of ['new', 'cur', 'tmp'])
      await mkdir(join(root, `in${w}`, sub), { recursive: true });
  for (let i = 0; i < posts; i++)
    await writeFile(join(root, `in${i % workers}`, 'new', `${1000 + i}.p${i}:2,`), post(i));
  const started = performance.now();
  const stats0 = url ? await pgCounters(url, pgData) : undefined;
  const outcomes = await Promise.all(
    Array.from({ length: workers }, (_, w) =>
      runWorker([
        '--inbox',
        join(root, `in${w}`),
        '--state',
        state,
        '--journal',
        how,
        ...(url ? ['--url', url] : []),
      ]),
    ),
  );
  const ms = performance.now() - started;
  const stats1 = url ? await pgCounters(url, pgData) : undefined;
  const delivered = outcomes.reduce((a, o) => a + o.delivered, 0);
  // From the first worker's first post to the last one's end: start-up left out.
  const playMs = Math.max(...outcomes.map((o) => o.t1)) - Math.min(...outcomes.map((o) => o.t0));
  const pg =
    stats0 && stats1
      ? {
          commits: stats1.commits - stats0.commits,
          syncs: stats1.syncs - stats0.syncs,
          cpuMs: stats1.cpuMs - stats0.cpuMs,
        }
      : undefined;
  return { how, workers, posts, delivered, ms, playMs, outcomes, pg };
}

/**
 * The intake table: files without the claim, files and PostgreSQL with 1, 2 and 4
 * workers; rate from the first post to the last (start-up left out). Starts a PostgreSQL
 * of its own unless `url` is given (then the server's CPU is not measured).
 */
export async function pgIntakeTable(posts: number, url?: string): Promise<string> {
  let stop = () => {};
  let pgData: string | undefined;
  if (!url) {
    const { startPostgres } = await import('../test/helpers/postgres.ts');
    const server = await startPostgres();
    stop = () => server.stop();
    url = server.url;
    pgData = join(server.dir, 'data');
  }
  let out = `load before ${load1()}\n`;
  out +=
    '| journal | workers | posts | delivered | posts/s (play) | wall with start-up | worker CPU µs a post (play) | PostgreSQL CPU µs a post | transactions / WAL syncs a post | worker RSS MB (each) | load |\n| --- | --: | --: | --: | --: | --: | --: | --: | --: | --- | --: |\n';
  try {
    const cases: Array<['files' | 'files-no-claim' | 'postgres', number]> = [
      ['files-no-claim', 1],
      ['files', 1],
      ['files', 2],
      ['files', 4],
      ['postgres', 1],
      ['postgres', 2],
      ['postgres', 4],
    ];
    for (const [how, workers] of cases) {
      // A fresh database per PostgreSQL round: nothing handled yet.
      const where =
        how === 'postgres'
          ? await freshDatabase(url, `intake_${workers}_${Date.now()}`)
          : undefined;
      const r = await round(how, workers, posts, where, pgData);
      const playCpu = r.outcomes.reduce((a, o) => a + o.playCpuMs, 0);
      out += `| ${how} | ${workers} | ${posts} | ${r.delivered} | ${Math.round((posts / r.playMs) * 1000)} | ${(r.ms / 1000).toFixed(2)} s | ${Math.round((playCpu * 1000) / posts)} | ${r.pg && pgData ? Math.round((r.pg.cpuMs * 1000) / posts) : '–'} | ${r.pg ? `${(r.pg.commits / posts).toFixed(2)} / ${(r.pg.syncs / posts).toFixed(2)}` : '–'} | ${r.outcomes.map((o) => Math.round(o.rssMb)).join(', ')} | ${load1()} |\n`;
    }
  } finally {
    stop();
  }
  return out;
}

/** The database's commits and WAL syncs so far, and the server's CPU (when it is ours). */
async function pgCounters(url: string, pgData: string | undefined) {
  return { ...(await postgresCounters(url)), cpuMs: pgData ? postgresCpuMs(pgData) : 0 };
}

if (args.includes('--worker')) await worker();
else if (process.argv[1]?.endsWith('pg-intake.ts'))
  process.stdout.write(await pgIntakeTable(Number(arg('--posts') ?? 1000), arg('--url')));
