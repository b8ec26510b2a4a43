/**
 * Post numbers, notice counts and digest collection on the files against PostgreSQL, in one
 * process: number N posts (the `%d` subject prefix: one per post), take N notices for N/10
 * mailboxes (the daily budget), collect N posts (2.2 KB) into a digest and send it as issues
 * of 100 (claim, read the posts, finish). Then the numbering again with two pools at once
 * (two "hosts" on PostgreSQL, two processes' views of one directory on files), checking no
 * number is given twice.
 *
 *   node --import tsx bench/pg-misc.ts [--posts 500] [--url postgres://…]
 *
 * Without --url it starts a PostgreSQL of its own (test/helpers/postgres.ts, fsync on).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PgDigestStore } from '../src/digest/pg-store.ts';
import { type DigestCollection, DigestStore } from '../src/digest/store.ts';
import { NoticeRateLimit } from '../src/notices/rate-limit.ts';
import { FileCounters, type PostCounters } from '../src/state/counters.ts';
import { FileNoticeCounts, type NoticeCounts } from '../src/state/memos.ts';
import { openDatabase } from '../src/state/pg.ts';
import { PgCounters } from '../src/state/pg-counters.ts';
import { PgNoticeCounts } from '../src/state/pg-memos.ts';
import { startPostgres } from '../test/helpers/postgres.ts';

const args = process.argv.slice(2);
const arg = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const posts = Number(arg('--posts') ?? 500);
const body = Buffer.from('body line of a collected post\r\n'.repeat(72));

interface Side {
  counters: PostCounters;
  counts: NoticeCounts;
  digest: DigestCollection;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function run(name: string, a: Side, b: Side) {
  const cpu = process.cpuUsage();
  const number = await timed(async () => {
    for (let i = 0; i < posts; i++) await a.counters.numberFor('red', `post-${i}`);
  });
  const limit = new NoticeRateLimit(a.counts, { per_day: 1_000_000 });
  const notices = await timed(async () => {
    for (let i = 0; i < posts; i++) await limit.take(`member${i % (posts / 10)}@example.org`);
  });
  const collect = await timed(async () => {
    for (let i = 0; i < posts; i++) await a.digest.add(`post-${i}`, body, Date.now());
  });
  let issues = 0;
  const send = await timed(async () => {
    for (;;) {
      const issue = await a.digest.claim(new Date(), 100);
      if (!issue) break;
      await a.digest.postBytes(issue);
      await a.digest.finish(issue);
      issues++;
    }
  });
  const used = process.cpuUsage(cpu);
  // Two at once: every key numbered by both sides (a retry racing the first try).
  const got = new Map<string, Set<number>>();
  const race = await timed(() =>
    Promise.all(
      [a, b].map(async (side) => {
        for (let i = 0; i < posts; i++) {
          const key = `race-${i}`;
          const n = await side.counters.numberFor('blue', key);
          got.set(key, (got.get(key) ?? new Set()).add(n));
        }
      }),
    ),
  );
  const numbers = new Set([...got.values()].flatMap((s) => [...s]));
  const ok = [...got.values()].every((s) => s.size === 1) && numbers.size === posts;
  const per = (ms: number) => (ms / posts).toFixed(2);
  console.log(
    `${name}: ${posts} posts; number ${per(number)} ms/post, notice ${per(notices)} ms/take, ` +
      `collect ${per(collect)} ms/post, send ${issues} issues ${(send / issues).toFixed(1)} ms/issue; ` +
      `two at once ${((2 * posts) / (race / 1000)).toFixed(0)} numberings/s (${ok ? 'none twice' : 'DUPLICATES'}); ` +
      `client CPU ${((used.user + used.system) / 1000 / posts / 4).toFixed(2)} ms/op`,
  );
}

const dir = await mkdtemp(join(tmpdir(), 'malist-bench-misc-'));
const pg = arg('--url') ? undefined : await startPostgres();
try {
  const files = (): Side => ({
    counters: new FileCounters(join(dir, 'lists')),
    counts: new FileNoticeCounts(join(dir, 'notices')),
    digest: new DigestStore(dir, 'red'),
  });
  await run('files', files(), files());
  const url = arg('--url') ?? (await pg!.createDatabase('bench_misc'));
  const [dbA, dbB] = await Promise.all([openDatabase(url), openDatabase(url)]);
  try {
    const side = async (db: typeof dbA): Promise<Side> => ({
      counters: await PgCounters.open(db),
      counts: await PgNoticeCounts.open(db),
      digest: await PgDigestStore.open(db, 'red'),
    });
    await run('postgres', await side(dbA), await side(dbB));
  } finally {
    await dbA.close();
    await dbB.close();
  }
} finally {
  await pg?.stop();
  await rm(dir, { recursive: true, force: true });
}
