/**
 * The counting every part of `malist storage migrate` does (storage-migrate.ts): how many
 * items the source has, how many the target had before, how many this run copied, and how
 * many the target has after (a real run only).
 */
import type { LoadedConfig } from '../config/load.ts';
import type { StateHome } from '../config/storage.ts';
import type { MigrationLine } from './storage-migrate.ts';

type Counts = Omit<MigrationLine, 'what' | 'label'>;

/**
 * One part's copy, counted: `look()` tells which items the target holds (asked before and
 * after the run), `write` copies one that it lacks (false: nothing was written).
 */
export function copyEach<T>(
  items: readonly T[],
  look: () => Promise<(item: T) => boolean | Promise<boolean>>,
  write: (item: T) => Promise<boolean>,
  dryRun: boolean,
): Promise<Counts> {
  return copyBatches(items, look, async ([item]) => ((await write(item!)) ? 1 : 0), dryRun, 1);
}

/**
 * `copyEach` for a target that takes items `size` at a time (one transaction, one append a
 * batch): `writeMany` copies a batch of items the target lacks and says how many it wrote.
 */
export async function copyBatches<T>(
  items: readonly T[],
  look: () => Promise<(item: T) => boolean | Promise<boolean>>,
  writeMany: (batch: T[]) => Promise<number>,
  dryRun: boolean,
  size: number,
): Promise<Counts> {
  const count = async () => {
    const there = await look();
    let n = 0;
    for (const item of items) if (await there(item)) n++;
    return n;
  };
  const present = await count();
  if (dryRun) return { source: items.length, present, copied: 0 };
  const there = await look();
  let copied = 0;
  let batch: T[] = [];
  for (const item of items) {
    if (await there(item)) continue;
    batch.push(item);
    if (batch.length >= size) {
      copied += await writeMany(batch);
      batch = [];
    }
  }
  if (batch.length > 0) copied += await writeMany(batch);
  return { source: items.length, present, copied, target: await count() };
}

/**
 * One kind of store on both sides, the source first: the files under state_dir (`open`
 * without `storage:`) and the database's (`open` with it), ordered for `to`.
 */
export async function sides<T>(
  config: LoadedConfig,
  to: 'postgres' | 'files',
  open: (where: StateHome) => T | Promise<T>,
): Promise<[T, T]> {
  const main = config.main!;
  const files = await open({ state_dir: main.state_dir });
  const rows = await open(main);
  return to === 'postgres' ? [files, rows] : [rows, files];
}

/** One part of the migration: its lines, moving `config`'s state towards `to`. */
export type MigratePart = (
  config: LoadedConfig,
  to: 'postgres' | 'files',
  dryRun: boolean,
) => Promise<MigrationLine[]>;
