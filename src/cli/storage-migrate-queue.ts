/**
 * The queue's part of `malist storage migrate` (storage-migrate.ts): the open entries of
 * each `type: queue` distributor, between its spool (`dir:`) and its queue in PostgreSQL
 * (`name:`, default `queue`). Each entry keeps its ID, its bytes and every recipient's state
 * as the source knows it with its sent-log applied — a recipient the server already took
 * is `delivered` at the target and is never sent again; a deferred one keeps its attempts
 * and next attempt. Copies, never deletes; an entry the target already has (waiting, or its
 * done record) is left as it is, so a second run copies nothing.
 *
 * Finished entries and dead letters move too (`copyFinished`), each with its recipients'
 * final states, last answers and the sent-log's times, so `malist trace` and `malist queue
 * list` answer the same after the switch: a done record as last written with its sent-log
 * (kept for the rest of its retention period, which counts from when it finished), a dead
 * letter with its message and the recipients given up on. A queue without `dir:` has no
 * spool to migrate from or to, and is skipped.
 */
import { planAll } from '../config/build.ts';
import { queuePlans } from '../config/directories.ts';
import type { LoadedConfig } from '../config/load.ts';
import type { StorageChoice } from '../config/storage.ts';
import { databaseFor, processLeaseFor } from '../config/storage-pg.ts';
import { DEFAULT_QUEUE } from '../distributors/queue.ts';
import { asResults } from '../queue/envelope.ts';
import { createFileStore } from '../queue/file-store.ts';
import { createPgStore } from '../queue/pg-store.ts';
import type { QueueStore } from '../queue/store.ts';
import type { MigrationLine } from './storage-migrate.ts';
import { copyEach } from './storage-migrate-each.ts';

type Counts = Omit<MigrationLine, 'what' | 'label'>;

type Postgres = Extract<StorageChoice, { type: 'postgres' }>;

/** The open entries of `from` copied to `to`, counted before and after. */
export async function copyQueue(
  from: QueueStore,
  to: QueueStore,
  dryRun: boolean,
): Promise<Omit<MigrationLine, 'what'>> {
  await from.ready();
  // A dry run makes no spool folders (a database needs its tables checked to be read).
  if (!dryRun || to.kind === 'postgres') await to.ready();
  const entries = (await from.list()).filter((e) => e.where !== 'dead' && !e.firstRound);
  let present = 0;
  let copied = 0;
  for (const { id } of entries) {
    if (await to.existing(id)) {
      present++;
      continue;
    }
    if (dryRun) continue;
    // The whole envelope with the sent-log applied: who has it already is settled.
    const envelope = await from.view(id);
    const raw = await from.message?.(id);
    if (!envelope || !raw) continue; // finished or dropped meanwhile: nothing to move
    const entry = await to.prepare({
      id,
      sender: envelope.sender,
      recipients: envelope.recipients.map((r) => r.address),
      now: envelope.created,
      raw,
      envelope,
    });
    await entry.commit();
    copied++;
  }
  if (!dryRun) await carrySentLogs(from, to);
  if (dryRun) return { source: entries.length, present, copied };
  let target = 0;
  for (const { id } of entries) if (await to.existing(id)) target++;
  return { source: entries.length, present, copied, target };
}

/**
 * The done records and dead letters of `from` copied to `to` (after the open entries, so an
 * entry open at the source with a dead letter has its row at the target), counted apart.
 */
export async function copyFinished(
  from: QueueStore,
  to: QueueStore,
  dryRun: boolean,
): Promise<{ done: Counts; dead: Counts }> {
  // One record read at a time, and only to be copied: a done record of a large list is a
  // row per member.
  const restore = (part: 'done' | 'dead') => async (id: string) => {
    const record = await from.record?.(id);
    return record ? ((await to.restore?.(record, part)) ?? false) : false;
  };
  // What the target has, by ID, from one listing.
  const has = (part: 'done' | 'dead') => async () => {
    const ids = new Set((await to.finishedIds?.(part).catch(() => [])) ?? []);
    // An entry still open at the target (an earlier migration's) counts as done: its
    // sent-log was carried, and its next round finishes it without a send.
    if (part === 'done')
      for (const e of await to.list().catch(() => [])) if (e.where !== 'dead') ids.add(e.id);
    return (id: string) => ids.has(id);
  };
  const [done, dead] = [
    await copyEach((await from.finishedIds?.('done')) ?? [], has('done'), restore('done'), dryRun),
    await copyEach((await from.finishedIds?.('dead')) ?? [], has('dead'), restore('dead'), dryRun),
  ];
  return { done, dead };
}

/**
 * Each entry open at the target gets what the source knows of it in its sent-log: an entry
 * left at the target by an earlier migration (never deleted) may have been finished at the
 * source since, and its next round there must not send again to anyone the source did.
 */
async function carrySentLogs(from: QueueStore, to: QueueStore): Promise<void> {
  if (!to.appendSent) return;
  for (const { id, where } of await to.list()) {
    if (where === 'dead') continue;
    const known = await from.view(id);
    if (!known) continue;
    const settled = asResults(known, 'migrate').filter(
      (r) => r.status === 'delivered' || r.status === 'failed',
    );
    if (settled.length > 0) await to.appendSent(id, settled, Date.now());
  }
}

/** Moves the open entries of every queue of `config` towards `to`; one line a queue. */
export async function migrateQueues(
  config: LoadedConfig,
  choice: Postgres,
  to: 'postgres' | 'files',
  dryRun: boolean,
): Promise<MigrationLine[]> {
  const plans = await planAll(config);
  const seen = new Set<string>();
  const lines: MigrationLine[] = [];
  for (const plan of queuePlans(plans.distributors)) {
    const dir = plan.options.dir;
    const name = (plan.options.name as string | undefined) ?? DEFAULT_QUEUE;
    if (typeof dir !== 'string' || seen.has(`${name}\n${dir}`)) continue;
    seen.add(`${name}\n${dir}`);
    const files = createFileStore(dir);
    const rows = createPgStore(databaseFor(choice), { lease: processLeaseFor(choice), name });
    try {
      const [from, into] = to === 'postgres' ? [files, rows] : [rows, files];
      lines.push({ what: `queue:${name}`, ...(await copyQueue(from, into, dryRun)) });
      const { done, dead } = await copyFinished(from, into, dryRun);
      // A queue with none of a part gets no line for it.
      if (done.source > 0)
        lines.push({ what: `queue-done:${name}`, label: `done records of ${name}`, ...done });
      if (dead.source > 0)
        lines.push({ what: `queue-dead:${name}`, label: `dead letters of ${name}`, ...dead });
    } finally {
      await files.close();
      await rows.close();
    }
  }
  return lines;
}
