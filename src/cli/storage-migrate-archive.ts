/**
 * `malist storage migrate`'s part for the archive (storage-migrate.ts runs it): each list's
 * archived posts, with their bytes exactly as archived, between the configured archive's
 * files (the first `type: archive` distributor's `dir` and format) and the PostgreSQL rows.
 * To the rows: the files' index is first brought up to the files (it is their cache, so a
 * post the index lacked after a crash moves too), then every post the list's rows lack is
 * added. To the files: every post the files lack is written into its month's mbox and/or
 * maildir, in date order, and indexed. Both 500 posts at a time: one transaction, or one
 * append and fsync a month.
 *
 * Like the rest of the migration it copies and never deletes at the source; a post is known
 * at the target by its Message-ID, so a second run copies nothing. A configuration without
 * an archive distributor has nothing to move.
 */
import type { ArchivedPost } from '../archive/db.ts';
import { type ArchiveStore, openFilesArchive } from '../archive/store.ts';
import { archiveDirOf, archiveFormatOf } from '../config/archive.ts';
import { planAll } from '../config/build.ts';
import { archiveRowsFor } from '../config/storage.ts';
import type { MigrationLine } from './storage-migrate.ts';
import { copyBatches, type MigratePart } from './storage-migrate-each.ts';

/** Posts a transaction (rows) or an append (files). */
const BATCH = 500;

/** Every post of a list, months in order, each in date order. */
async function postsOf(store: ArchiveStore, list: string): Promise<ArchivedPost[]> {
  const out: ArchivedPost[] = [];
  for (const { month } of (await store.months(list)).reverse())
    out.push(...(await store.monthPosts(list, month)));
  return out;
}

/** Moves the archived posts of `config` towards `to`; one line a list. */
export const migrateArchive: MigratePart = async (config, to, dryRun) => {
  const plans = await planAll(config);
  const dir = archiveDirOf(plans);
  const rows = await archiveRowsFor(config.main);
  if (dir === undefined || !rows) return [];
  const files = openFilesArchive(dir, archiveFormatOf(plans));
  try {
    // The index is the files' cache: brought up to them, it lists every archived post.
    await files.sync();
    const [from, into] = to === 'postgres' ? [files, rows] : [rows, files];
    const lines: MigrationLine[] = [];
    for (const list of await from.lists()) {
      const counts = await copyBatches(
        await postsOf(from, list),
        async () => {
          const there = new Set((await postsOf(into, list)).map((p) => p.messageId));
          return (p: ArchivedPost) => there.has(p.messageId);
        },
        async (batch) => {
          const posts = [];
          for (const p of batch) posts.push({ bytes: await from.read(p), archivedAt: p.date });
          return (await into.addMany(list, posts)).filter((r) => r.added).length;
        },
        dryRun,
        BATCH,
      );
      lines.push({ what: `archive:${list}`, label: `archived posts of ${list}`, ...counts });
    }
    return lines;
  } finally {
    await files.close();
  }
};
