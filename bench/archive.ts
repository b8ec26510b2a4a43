/**
 * The archive's case of `npm run bench` (alone: `npm run bench -- --archive`), in its own
 * process: 100,000 generated posts imported into a list's archive (an mbox of a list's
 * three years: threads with References and quoted parents, signatures, a Zipf vocabulary,
 * one post in ten in German, French, Russian or Japanese, HTML alternatives, attachments),
 * then 100 searches (words common and rare, phrases, prefixes, author and date filters)
 * and 100 month listings on that archive; then the same served by `malist serve` as pages
 * (bench/archive-pages.ts: month pages and search pages over HTTP, the server's RSS). Prints
 * one JSON line.
 *
 * Argument: the number of posts (default 100,000).
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { months, monthThreads } from '../src/archive/browse.ts';
import { ArchiveIndex } from '../src/archive/db.ts';
import { importArchive } from '../src/archive/import.ts';
import { search } from '../src/archive/search.ts';
import { archiveCorpus, percentile, sizeOf } from './archive-corpus.ts';
import { type PagesCaseOutput, pagesCase } from './archive-pages.ts';

export interface ArchiveCaseOutput {
  posts: number;
  importMs: number;
  /** CPU time the import took (user + system): what the wall time is on an idle core. */
  importCpuMs: number;
  sourceBytes: number;
  archiveBytes: number;
  indexBytes: number;
  searchP50: number;
  searchP95: number;
  searchMax: number;
  /** CPU time of the 95th percentile search. */
  searchCpuP95: number;
  monthP50: number;
  monthP95: number;
  maxRssMb: number;
  /** The pages, served by `malist serve` (bench/archive-pages.ts). */
  pages: PagesCaseOutput;
}

const N = Number(process.argv[2] ?? 100_000);
const { writeSource, queries, pick } = archiveCorpus(N);

const work = await mkdtemp(join(process.argv[3] ?? tmpdir(), 'malist-bench-archive-'));
try {
  const source = join(work, 'history.mbox');
  await writeSource(source);
  const root = join(work, 'archive');
  const index = ArchiveIndex.open(root);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const result = await importArchive(index, { list: 'bench', source });
  const importMs = performance.now() - t0;
  const importCpu = process.cpuUsage(cpu0);
  const importCpuMs = (importCpu.user + importCpu.system) / 1000;
  if (result.added !== N) throw new Error(`imported ${result.added} of ${N}`);
  index.db.pragma('wal_checkpoint(TRUNCATE)');
  const searchMs: number[] = [];
  const searchCpuMs: number[] = [];
  const asked = queries();
  for (const q of asked) {
    const s = performance.now();
    const c = process.cpuUsage();
    search(index, { ...q, lists: ['bench'] });
    searchMs.push(performance.now() - s);
    const used = process.cpuUsage(c);
    searchCpuMs.push((used.user + used.system) / 1000);
  }
  const all = months(index, 'bench').map((m) => m.month);
  const monthMs: number[] = [];
  for (let i = 0; i < 100; i++) {
    const s = performance.now();
    monthThreads(index, 'bench', pick(all), { limit: 100 });
    monthMs.push(performance.now() - s);
  }
  index.close();
  const pages = await pagesCase(work, root, 'bench', all, asked, pick);
  const indexBytes = (await readdir(root))
    .filter((f) => f.startsWith('index.sqlite'))
    .reduce<Promise<number>>(
      async (sum, f) => (await sum) + (await sizeOf(join(root, f))),
      Promise.resolve(0),
    );
  const output: ArchiveCaseOutput = {
    posts: N,
    importMs,
    importCpuMs,
    sourceBytes: await sizeOf(source),
    archiveBytes: await sizeOf(join(root, 'bench')),
    indexBytes: await indexBytes,
    searchP50: percentile(searchMs, 50),
    searchP95: percentile(searchMs, 95),
    searchMax: Math.max(...searchMs),
    searchCpuP95: percentile(searchCpuMs, 95),
    monthP50: percentile(monthMs, 50),
    monthP95: percentile(monthMs, 95),
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    pages,
  };
  process.stdout.write(`${JSON.stringify(output)}\n`);
} finally {
  if (process.env.MALIST_KEEP_BENCH === '1') process.stderr.write(`kept ${work}\n`);
  else await rm(work, { recursive: true, force: true });
}
