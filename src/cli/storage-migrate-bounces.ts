/**
 * `malist storage migrate`'s part for bounce state (storage-migrate.ts runs it): for each
 * list, its bounce records (one per member), its sent index (one entry per delivery report)
 * and its spam complaints (one per counted event), between the files under state_dir and
 * the database. Copies, never deletes, never overwrites: a member with a record at the
 * target keeps it, an entry or a complaint there already is not added again, so a second
 * run copies nothing. `--dry-run` counts; a real run counts again on the target afterwards.
 * A part a list has nothing of gets no line.
 */
import type { BounceStorage } from '../bounces/store.ts';
import type { LoadedConfig } from '../config/load.ts';
import { bounceStorageFor } from '../config/storage.ts';
import type { MigrationLine } from './storage-migrate.ts';
import { sides } from './storage-migrate-each.ts';

type Counts = Omit<MigrationLine, 'what'>;

async function copyRecords(
  from: BounceStorage,
  to: BounceStorage,
  list: string,
  dryRun: boolean,
): Promise<Counts> {
  const records = await from.records(list).all();
  const there = await to.records(list).all();
  const addresses = Object.keys(records);
  const present = addresses.filter((a) => there[a]).length;
  if (dryRun) return { source: addresses.length, present, copied: 0 };
  let copied = 0;
  for (const address of addresses)
    await to.records(list).change(address, (old) => {
      if (old) return old;
      copied++;
      return records[address];
    });
  const after = await to.records(list).all();
  return {
    source: addresses.length,
    present,
    copied,
    target: addresses.filter((a) => after[a]).length,
  };
}

async function copySent(
  from: BounceStorage,
  to: BounceStorage,
  list: string,
  dryRun: boolean,
): Promise<Counts> {
  const line = (e: { day: string; id: string; members: string[] }) =>
    `${e.day} ${e.id} ${e.members.join(' ')}`;
  const entries = await from.sent.entries(list);
  const keys = entries.map(line);
  const there = new Set((await to.sent.entries(list)).map(line));
  const present = keys.filter((k) => there.has(k)).length;
  if (dryRun) return { source: entries.length, present, copied: 0 };
  const copied = await to.sent.restore(list, entries);
  const after = new Set((await to.sent.entries(list)).map(line));
  return {
    source: entries.length,
    present,
    copied,
    target: keys.filter((k) => after.has(k)).length,
  };
}

async function copyComplaints(
  from: BounceStorage,
  to: BounceStorage,
  list: string,
  dryRun: boolean,
): Promise<Counts> {
  const record = await from.complaints(list).read();
  const there = new Set((await to.complaints(list).read()).seen);
  const present = record.seen.filter((id) => there.has(id)).length;
  if (dryRun) return { source: record.seen.length, present, copied: 0 };
  const copied = await to.complaints(list).merge(record);
  const after = new Set((await to.complaints(list).read()).seen);
  return {
    source: record.seen.length,
    present,
    copied,
    target: record.seen.filter((id) => after.has(id)).length,
  };
}

/** Words for a line of this part (`bounces:red` → `bounce records of red`). */
export function bounceLineWords(what: string): string | undefined {
  const [part, list] = what.split(':', 2);
  if (part === 'bounces') return `bounce records of ${list}`;
  if (part === 'sent') return `sent-index entries of ${list}`;
  if (part === 'complaints') return `spam complaints of ${list}`;
  return undefined;
}

/** Moves every list's bounce state of `config` towards `to` (files ⇄ the database). */
export async function migrateBounces(
  config: LoadedConfig,
  to: 'postgres' | 'files',
  dryRun: boolean,
): Promise<MigrationLine[]> {
  const [from, into] = await sides(config, to, bounceStorageFor);
  const lines: MigrationLine[] = [];
  for (const list of config.lists) {
    const parts = [
      ['bounces', copyRecords],
      ['sent', copySent],
      ['complaints', copyComplaints],
    ] as const;
    for (const [part, copy] of parts) {
      const counts = await copy(from, into, list.name, dryRun);
      // A list without any of it (most lists have no complaints) gets no line.
      if (counts.source > 0) lines.push({ what: `${part}:${list.name}`, ...counts });
    }
  }
  return lines;
}
