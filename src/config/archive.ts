/**
 * The archive of a configuration, for `storage:`: on files, one SQLite index per archive
 * root (`type: archive`'s `dir`), opened on first use and shared by the archive
 * distributors that write it and the fronts that read it (`malist archive`, the web
 * archive), so one process holds one connection; on PostgreSQL, the rows every host shares
 * (archive/pg-store.ts), which the distributors write instead of files.
 *
 * The index and the archive's reading side (search, extraction, sync: ~30 KB of modules of
 * the receive script) are imported only when a configuration has an archive distributor.
 */
import type { ArchiveIndex } from '../archive/db.ts';
import type { ArchiveFormat } from '../archive/paths.ts';
import type { PgArchive } from '../archive/pg-store.ts';
import type { ArchiveStore } from '../archive/store.ts';
import type { Plan, Plans } from './build.ts';

export interface ArchiveIndexes {
  /** The first configured archive's root (where `malist archive` and the pages look). */
  dir: string | undefined;
  /** The index of `dir` (opened once). */
  open(dir: string): ArchiveIndex;
  /** The rows, when `storage:` is PostgreSQL (the distributors write these, not files). */
  rows: PgArchive | undefined;
  /** The archive the fronts read: the rows, else `dir`'s files; undefined without an archive. */
  store(): ArchiveStore | undefined;
  /** Closes every index opened. */
  close(): void;
}

function archivePlans(plans: readonly Plan[]): Plan[] {
  return plans.flatMap((p) => [
    ...(p.type === 'archive' ? [p] : []),
    ...archivePlans(p.children ?? []),
  ]);
}

/** The root of the first configured archive distributor, if any. */
export function archiveDirOf(plans: Plans): string | undefined {
  const first = archivePlans(plans.distributors)[0];
  return first ? String(first.options['dir']) : undefined;
}

/** The format of the first configured archive distributor (mbox when it says nothing). */
export function archiveFormatOf(plans: Plans): ArchiveFormat {
  const first = archivePlans(plans.distributors)[0];
  return (first?.options['format'] as ArchiveFormat | undefined) ?? 'mbox';
}

/** A configuration with no archive distributor: nothing to open, nothing the fronts read. */
const NO_ARCHIVE: ArchiveIndexes = {
  dir: undefined,
  open(dir) {
    throw new Error(`no archive is configured (asked for the index of ${dir})`);
  },
  rows: undefined,
  store: () => undefined,
  close() {},
};

/**
 * The archive of `plans`; `rows()` gives the archive's rows when `storage:` is PostgreSQL
 * (storage.ts `archiveRowsFor`), asked only when there is an archive.
 */
export async function archiveIndexes(
  plans: Plans,
  rowsOf: () => Promise<PgArchive | undefined>,
): Promise<ArchiveIndexes> {
  const dir = archiveDirOf(plans);
  if (dir === undefined) return NO_ARCHIVE;
  const [{ ArchiveIndex }, { filesArchive }, rows] = await Promise.all([
    import('../archive/db.ts'),
    import('../archive/store.ts'),
    rowsOf(),
  ]);
  const open = new Map<string, ArchiveIndex>();
  const format = archiveFormatOf(plans);
  const indexOf = (at: string) => {
    let index = open.get(at);
    if (!index) {
      index = ArchiveIndex.open(at);
      open.set(at, index);
    }
    return index;
  };
  let files: ArchiveStore | undefined;
  return {
    dir,
    open: indexOf,
    rows,
    store() {
      if (rows) return rows;
      files ??= filesArchive(indexOf(dir), format, true);
      return files;
    },
    close() {
      for (const index of open.values()) index.close();
      open.clear();
      files = undefined;
    },
  };
}
