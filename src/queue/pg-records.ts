/**
 * The PostgreSQL queue's finished entries and dead letters as QueueRecords (store.ts), read
 * and written for `malist storage migrate`: a done record is the entry's row with `done_at`
 * set, its recipient rows as last written and its sent-log rows; a dead letter is its
 * `queue_dead` rows (one a recipient given up on), beside the entry's row and bytes.
 *
 * A done record from the file spool has no bytes (a finished entry keeps none there): its
 * row gets an empty message, never read, as nothing of a finished entry is sent again.
 */
import type { Database, Sql } from '../state/pg.ts';
import type { RecipientRecord } from './envelope.ts';
import {
  entryRow,
  envelopeOf,
  insertDead,
  insertEntry,
  insertSent,
  recipientRows,
  sentRecords,
} from './pg-rows.ts';
import { sentByTime } from './records.ts';
import type { QueueRecord, QueueStore } from './store.ts';

/** The store's migration methods over its connection (once the store is ready). */
export function recordsOf(
  sql: () => Database,
  queue: string,
): Required<Pick<QueueStore, 'finishedIds' | 'record' | 'restore'>> {
  return {
    finishedIds: (part) => finishedIds(sql(), queue, part),
    record: (id) => readRecord(sql(), id),
    restore: (record, part) => restoreRecord(sql(), record, part, queue),
  };
}

/** A queue's finished entries and entries with a dead letter (or `part` only), oldest first. */
export async function finishedIds(
  sql: Sql,
  queue: string,
  part?: 'done' | 'dead',
): Promise<string[]> {
  const done = 'done_at IS NOT NULL';
  const dead = 'EXISTS (SELECT 1 FROM queue_dead d WHERE d.entry_id = e.id)';
  const which = part === 'done' ? done : part === 'dead' ? dead : `(${done} OR ${dead})`;
  const rows = await sql.query<{ id: string }>(
    `SELECT id FROM queue_entries e WHERE queue = $1 AND ${which} ORDER BY created, id`,
    [queue],
  );
  return rows.map((r) => r.id);
}

interface DeadRow {
  address: string;
  code: number | null;
  response: string | null;
  at: number;
}

export async function readRecord(sql: Sql, id: string): Promise<QueueRecord | undefined> {
  const entry = await entryRow(sql, id);
  if (!entry) return undefined;
  const dead = await sql.query<DeadRow>(
    'SELECT address, code, response, at FROM queue_dead WHERE entry_id = $1 ORDER BY address_lc',
    [id],
  );
  if (entry.done_at === null && dead.length === 0) return undefined;
  const envelope = envelopeOf(entry, await recipientRows(sql, id));
  const attempts = new Map(envelope.recipients.map((r) => [r.address.toLowerCase(), r.attempts]));
  const givenUp: RecipientRecord[] = dead.map((d) => ({
    address: d.address,
    state: 'failed',
    attempts: attempts.get(d.address.toLowerCase()) ?? 1,
    next_attempt: d.at,
    ...(d.code !== null ? { code: d.code } : {}),
    ...(d.response !== null ? { response: d.response } : {}),
    tried_at: d.at,
  }));
  const raw =
    dead.length > 0
      ? (
          await sql.query<{ message: Buffer }>('SELECT message FROM queue_entries WHERE id = $1', [
            id,
          ])
        )[0]?.message
      : undefined;
  return {
    id,
    envelope,
    sent: await sentRecords(sql, id),
    ...(entry.done_at !== null ? { doneAt: entry.done_at } : {}),
    ...(dead.length > 0
      ? { dead: { recipients: givenUp, at: Math.max(...dead.map((d) => d.at)) } }
      : {}),
    ...(raw && raw.length > 0 ? { raw } : {}),
  };
}

/**
 * The entry's row (finished: a done record, or the one a dead letter needs) unless it is
 * here, then its sent-log rows (the first answer for a recipient stays) and, for `dead`,
 * its dead letter's rows unless it has some.
 */
export async function restoreRecord(
  db: Database,
  record: QueueRecord,
  part: 'done' | 'dead',
  queue: string,
): Promise<boolean> {
  const finishedAt = record.doneAt ?? record.dead?.at;
  if (finishedAt === undefined || (part === 'dead' && !record.dead)) return false;
  const before = await entryRow(db, record.id);
  if (part === 'done' && (before || record.doneAt === undefined)) return false;
  if (!before)
    await insertEntry(db, record.envelope, record.raw ?? Buffer.alloc(0), queue, {
      doneAt: finishedAt,
    });
  for (const [at, results] of sentByTime(record.sent)) await insertSent(db, record.id, results, at);
  if (part === 'done') return true;
  const [has] = await db.query('SELECT 1 FROM queue_dead WHERE entry_id = $1 LIMIT 1', [record.id]);
  if (has) return false;
  await insertDead(db, record.id, record.dead!.recipients);
  return true;
}
