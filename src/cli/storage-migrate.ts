/**
 * `malist storage migrate --to postgres|files [--dry-run]`: moves the state the stores on
 * PostgreSQL keep between the files under state_dir and the database that `storage:` in
 * malist.yaml names — the journal of handled mail (every scope), and the members of each
 * list with `member_store: postgres` (from and to the list's own file: its members_file,
 * else its `members:`). Copies, never deletes: the source stays as it was, so a migration
 * can be run again (what is there already is left as it is) and checked. `--dry-run` counts
 * what would move; a real run counts again on the target afterwards and fails (exit 1) when
 * the target holds fewer than the source.
 *
 * The queue's waiting entries move too, each with every recipient's state and the sent-log
 * applied, so nobody is sent a post twice after a migration (storage-migrate-queue.ts).
 *
 * Their done records and dead letters move too, so `malist trace` and `malist queue list`
 * answer the same after the switch. Bounce state: storage-migrate-bounces.ts; request
 * memos, notice counts, post counters and digests: storage-migrate-misc.ts; held and
 * decided posts, decisions and confirmation tokens: storage-migrate-held.ts; the web's
 * admins' password hashes and API tokens: storage-migrate-web.ts; the archive's posts:
 * storage-migrate-archive.ts. Each part
 * counts alike (storage-migrate-each.ts): one line a part, none for a part with nothing.
 */
import { dirname, join, resolve } from 'node:path';
import { isPostgresStore } from '../config/build.ts';
import type { LoadedConfig, LoadedList } from '../config/load.ts';
import { databaseFor, journalFor, type StorageChoice } from '../config/storage.ts';
import { normalizeAddress } from '../mail/address.ts';
import { openMemberStore } from '../members/index.ts';
import createPostgresMemberStore from '../members/pg-store.ts';
import type { MemberStore } from '../members/store.ts';
import { FileJournal, type Journal } from '../state/journal.ts';
import { migrateArchive } from './storage-migrate-archive.ts';
import { bounceLineWords, migrateBounces } from './storage-migrate-bounces.ts';
import { migrateModeration } from './storage-migrate-held.ts';
import { migrateMiscStorage } from './storage-migrate-misc.ts';
import { migrateQueues } from './storage-migrate-queue.ts';
import { migrateWebCredentials } from './storage-migrate-web.ts';

export interface MigrationLine {
  /** `journal` or `members:LIST` (or `memos`, `digest:LIST`: storage-migrate-misc.ts). */
  what: string;
  /** How the line names what moved, when not the journal or members. */
  label?: string;
  /** Records (or members) at the source. */
  source: number;
  /** Of those, already at the target before this run. */
  present: number;
  /** Copied by this run (0 on a dry run). */
  copied: number;
  /** Counted at the target after the run (undefined on a dry run). */
  target?: number;
}

type Postgres = Extract<StorageChoice, { type: 'postgres' }>;

async function copyJournal(
  from: Journal,
  to: Journal,
  dryRun: boolean,
): Promise<Omit<MigrationLine, 'what'>> {
  let source = 0;
  let present = 0;
  let copied = 0;
  for (const scope of await from.scopes())
    for await (const { key, entry } of from.recent(scope)) {
      source++;
      if (await to.get(scope, key)) {
        present++;
        continue;
      }
      if (!dryRun) {
        await to.put(scope, key, entry);
        copied++;
      }
    }
  if (dryRun) return { source, present, copied };
  let target = 0;
  for (const scope of await from.scopes())
    for await (const { key } of from.recent(scope)) if (await to.get(scope, key)) target++;
  return { source, present, copied, target };
}

async function copyMembers(
  from: MemberStore,
  to: MemberStore,
  dryRun: boolean,
): Promise<Omit<MigrationLine, 'what'>> {
  const members = await from.list();
  const there = new Set((await to.list()).map((m) => normalizeAddress(m.address)));
  const present = members.filter((m) => there.has(normalizeAddress(m.address))).length;
  if (dryRun) return { source: members.length, present, copied: 0 };
  const added = to.addMany ? await to.addMany(members) : [];
  if (!to.addMany) for (const m of members) if ((await to.add(m)) === 'added') added.push(m);
  const after = new Set((await to.list()).map((m) => normalizeAddress(m.address)));
  const target = members.filter((m) => after.has(normalizeAddress(m.address))).length;
  return { source: members.length, present, copied: added.length, target };
}

/** The list's members as written in its files (members_file, else the list's `members:`). */
function fileMembers(list: LoadedList): MemberStore {
  const { path, value } = list.source;
  const file = (value as { members_file?: unknown }).members_file;
  return openMemberStore(path, typeof file === 'string' ? resolve(dirname(path), file) : undefined);
}

/** Moves the journal and the PostgreSQL members of `config` towards `to`. */
export async function migrateStorage(
  config: LoadedConfig,
  choice: Postgres,
  to: 'postgres' | 'files',
  dryRun: boolean,
): Promise<MigrationLine[]> {
  const main = config.main!;
  const files = new FileJournal(join(main.state_dir, 'journal'));
  const rows = await journalFor(main);
  const lines: MigrationLine[] = [];
  const journal =
    to === 'postgres'
      ? await copyJournal(files, rows, dryRun)
      : await copyJournal(rows, files, dryRun);
  lines.push({ what: 'journal', ...journal });
  for (const list of config.lists) {
    if (!isPostgresStore((list.source.value as { member_store?: unknown }).member_store)) continue;
    const inFiles = fileMembers(list);
    const inRows = createPostgresMemberStore({
      list: list.name,
      database: () => databaseFor(choice),
    });
    const done =
      to === 'postgres'
        ? await copyMembers(inFiles, inRows, dryRun)
        : await copyMembers(inRows, inFiles, dryRun);
    lines.push({ what: `members:${list.name}`, ...done });
  }
  lines.push(...(await migrateBounces(config, to, dryRun)));
  lines.push(...(await migrateMiscStorage(config, to, dryRun)));
  lines.push(...(await migrateModeration(config, to, dryRun)));
  lines.push(...(await migrateWebCredentials(config, to, dryRun)));
  lines.push(...(await migrateQueues(config, choice, to, dryRun)));
  lines.push(...(await migrateArchive(config, to, dryRun)));
  return lines;
}

/** One line a migrated part: what moved, and what the target holds after. */
export function describeMigration(lines: MigrationLine[], to: string, dryRun: boolean): string {
  return lines
    .map((l) => {
      const what =
        l.label ??
        (l.what === 'journal'
          ? 'journal records'
          : l.what.startsWith('queue:')
            ? `open queue entries of ${l.what.slice(6)}`
            : (bounceLineWords(l.what) ?? `members of ${l.what.slice(8)}`));
      if (dryRun)
        return `${what}: ${l.source} to move to ${to}, ${l.present} already there, ${l.source - l.present} to copy (dry run: nothing written)\n`;
      const ok = l.target === l.source ? 'checked' : `MISSING ${l.source - (l.target ?? 0)}`;
      return `${what}: ${l.source} at the source, ${l.copied} copied to ${to}, ${l.present} already there; ${to} holds ${l.target} of them (${ok})\n`;
    })
    .join('');
}
