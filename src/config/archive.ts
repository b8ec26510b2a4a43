/**
 * The archive indexes of a configuration: one per archive root (`type: archive`'s `dir`),
 * opened on first use and shared by the archive distributors that write it and the fronts
 * that read it (`malist archive`, the web archive), so one process holds one connection.
 */
import { ArchiveIndex } from '../archive/db.ts';
import type { Plan, Plans } from './build.ts';

export interface ArchiveIndexes {
  /** The first configured archive's root (where `malist archive` and the pages look). */
  dir: string | undefined;
  /** The index of `dir` (opened once). */
  open(dir: string): ArchiveIndex;
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

export function archiveIndexes(plans: Plans): ArchiveIndexes {
  const open = new Map<string, ArchiveIndex>();
  return {
    dir: archiveDirOf(plans),
    open(dir) {
      let index = open.get(dir);
      if (!index) {
        index = ArchiveIndex.open(dir);
        open.set(dir, index);
      }
      return index;
    },
    close() {
      for (const index of open.values()) index.close();
      open.clear();
    },
  };
}
