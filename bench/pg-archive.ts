/**
 * The archive on the files (mbox + SQLite FTS5 index) against PostgreSQL (rows with a
 * generated tsvector and a GIN index), in one process: N posts of the archive benchmark's
 * generated history (bench/archive-corpus.ts) archived into each (the files by `malist
 * archive import`'s path, the rows post by post as the archive distributor adds them), then
 * the first 50 of its searches run on each, timed. `npm run bench -- --pg` prints the rows.
 *
 *   node --import tsx bench/pg-archive.ts [--posts 5000] [--url postgres://…]
 *
 * Without --url it starts a PostgreSQL of its own (test/helpers/postgres.ts, fsync on).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importArchive, importIntoStore } from '../src/archive/import.ts';
import { PgArchive } from '../src/archive/pg-store.ts';
import { type ArchiveStore, openFilesArchive } from '../src/archive/store.ts';
import { openDatabase } from '../src/state/pg.ts';
import { archiveCorpus, percentile } from './archive-corpus.ts';

export interface PgArchiveRow {
  backend: 'files' | 'postgres';
  posts: number;
  /** Archiving every post, wall. */
  addMs: number;
  searchP50: number;
  searchP95: number;
  /** Hits the 50 searches found, summed (the same on both when they agree). */
  hits: number;
  load: string;
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

async function searches(
  store: ArchiveStore,
  asked: ReturnType<ReturnType<typeof archiveCorpus>['queries']>,
) {
  const ms: number[] = [];
  let hits = 0;
  for (const q of asked) {
    const s = performance.now();
    hits += (await store.search({ ...q, lists: ['bench'] })).total;
    ms.push(performance.now() - s);
  }
  return { p50: percentile(ms, 50), p95: percentile(ms, 95), hits };
}

/** Both rows for `posts` posts; `url`: a database to use (else a server of its own). */
export async function pgArchiveRows(posts: number, url?: string): Promise<PgArchiveRow[]> {
  const work = await mkdtemp(join(tmpdir(), 'malist-bench-pg-archive-'));
  let stop = async () => {};
  try {
    const { writeSource, queries } = archiveCorpus(posts);
    const source = join(work, 'history.mbox');
    await writeSource(source);
    const asked = queries().slice(0, 50);
    const rows: PgArchiveRow[] = [];

    const files = openFilesArchive(join(work, 'archive'));
    let t = performance.now();
    const imported = await importArchive(files.index, { list: 'bench', source });
    const filesAdd = performance.now() - t;
    if (imported.added !== posts) throw new Error(`files: archived ${imported.added} of ${posts}`);
    const onFiles = await searches(files, asked);
    await files.close();
    rows.push({ backend: 'files', posts, addMs: filesAdd, ...row(onFiles), load: load() });

    let at = url;
    if (!at) {
      const { startPostgres } = await import('../test/helpers/postgres.ts');
      const server = await startPostgres();
      stop = () => server.stop();
      at = await server.createDatabase('bench_archive');
    }
    const db = await openDatabase(at);
    try {
      const archive = new PgArchive(Promise.resolve(db), db.label);
      t = performance.now();
      const added = await importIntoStore(archive, { list: 'bench', source });
      const pgAdd = performance.now() - t;
      if (added.added !== posts) throw new Error(`postgres: archived ${added.added} of ${posts}`);
      await db.query('ANALYZE malist_archive');
      const onPg = await searches(archive, asked);
      rows.push({ backend: 'postgres', posts, addMs: pgAdd, ...row(onPg), load: load() });
    } finally {
      await db.close();
    }
    return rows;
  } finally {
    await stop();
    await rm(work, { recursive: true, force: true });
  }
}

function row(s: { p50: number; p95: number; hits: number }) {
  return { searchP50: s.p50, searchP95: s.p95, hits: s.hits };
}

/** One line a row, as `npm run bench -- --pg` prints it. */
export function describePgArchiveRow(r: PgArchiveRow): string {
  return `archive on ${r.backend}: ${r.posts} posts archived in ${(r.addMs / 1000).toFixed(1)} s (${((r.addMs / r.posts) * 1000).toFixed(0)} µs a post); 50 searches median ${r.searchP50.toFixed(1)} ms, p95 ${r.searchP95.toFixed(1)} ms (${r.hits} hits); load ${r.load}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const arg = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  process.stdout.write(`load before: ${load()}\n`);
  for (const r of await pgArchiveRows(Number(arg('--posts') ?? 5000), arg('--url')))
    process.stdout.write(describePgArchiveRow(r));
}
