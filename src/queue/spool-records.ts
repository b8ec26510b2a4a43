/**
 * The file spool's finished entries and dead letters as QueueRecords (store.ts), read and
 * written for `malist storage migrate`: a done record is `done/<id>.json` as last written
 * with its sent-log `sent/<id>.log` (no message bytes: a finished entry keeps none), and its
 * file time is when the entry finished (the retention period counts from it); a dead letter
 * is `dead/<id>/` (message and envelope).
 */
import { readdir, readFile, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurable } from '../state/durable.ts';
import { type Envelope, parseEnvelope } from './envelope.ts';
import { deadEnvelope, givenUp, sentByTime } from './records.ts';
import { appendSentLog, readSentLogRecords } from './sent-log.ts';
import { ENVELOPE_FILE, existing, MESSAGE_FILE, type SpoolLayout, sentLogPath } from './spool.ts';
import type { QueueRecord } from './store.ts';

async function names(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => [] as string[]);
}

/** The IDs of done records and dead letters (or of `part` only), sorted. */
export async function finishedIds(layout: SpoolLayout, part?: 'done' | 'dead'): Promise<string[]> {
  const done =
    part === 'dead'
      ? []
      : (await names(layout.done))
          .filter((n) => n.endsWith('.json'))
          .map((n) => n.slice(0, -'.json'.length));
  const dead = part === 'done' ? [] : (await names(layout.dead)).filter((n) => !n.startsWith('.'));
  return [...new Set([...done, ...dead])].sort();
}

/**
 * A file's envelope and modification time, or undefined when it is absent; an unreadable
 * one stops the migration with its path (moved aside, the rest migrates).
 */
async function envelopeAt(path: string): Promise<{ envelope: Envelope; at: number } | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  const info = await stat(path).catch(() => undefined);
  if (text === undefined || !info) return undefined;
  let envelope: Envelope;
  try {
    envelope = parseEnvelope(text);
  } catch (error) {
    throw new Error(
      `${path}: unreadable envelope (${(error as Error).message}); move it aside to migrate the rest`,
    );
  }
  return { envelope, at: Math.round(info.mtimeMs) };
}

export async function readRecord(
  layout: SpoolLayout,
  id: string,
): Promise<QueueRecord | undefined> {
  const done = await envelopeAt(join(layout.done, `${id}.json`));
  const dead = await envelopeAt(join(layout.dead, id, ENVELOPE_FILE));
  const envelope = done?.envelope ?? dead?.envelope;
  if (!envelope) return undefined;
  const raw = dead
    ? await readFile(join(layout.dead, id, MESSAGE_FILE)).catch(() => undefined)
    : undefined;
  return {
    id,
    envelope,
    sent: (await readSentLogRecords(sentLogPath(layout, id))).records,
    ...(done ? { doneAt: done.at } : {}),
    ...(dead ? { dead: { recipients: givenUp(dead.envelope), at: dead.at } } : {}),
    ...(raw ? { raw } : {}),
  };
}

/** Adds the records the entry's sent-log lacks, each with the time of its answer. */
async function restoreSentLog(layout: SpoolLayout, record: QueueRecord): Promise<void> {
  const path = sentLogPath(layout, record.id);
  const have = new Set(
    (await readSentLogRecords(path)).records.map((r) => r.recipient.toLowerCase()),
  );
  const missing = record.sent.filter((r) => !have.has(r.recipient.toLowerCase()));
  const { id, list, message_id } = record.envelope;
  const header = { id, ...(message_id ? { message_id } : {}), ...(list ? { list } : {}) };
  for (const [at, results] of sentByTime(missing)) await appendSentLog(path, results, at, header);
}

export async function restoreRecord(
  layout: SpoolLayout,
  record: QueueRecord,
  part: 'done' | 'dead',
): Promise<boolean> {
  if (part === 'done') {
    // An entry open here (an earlier migration's copy) finishes here, by its sent-log.
    if (record.doneAt === undefined || (await existing(layout, record.id))) return false;
    await restoreSentLog(layout, record);
    const path = join(layout.done, `${record.id}.json`);
    await writeFileDurable(path, JSON.stringify(record.envelope));
    const when = new Date(record.doneAt);
    await utimes(path, when, when);
    return true;
  }
  const dir = join(layout.dead, record.id);
  if (!record.dead || (await envelopeAt(join(dir, ENVELOPE_FILE)))) return false;
  await restoreSentLog(layout, record);
  if (record.raw)
    await writeFileDurable(join(dir, MESSAGE_FILE), record.raw, { tmpDir: layout.tmp });
  const path = join(dir, ENVELOPE_FILE);
  await writeFileDurable(path, JSON.stringify(deadEnvelope(record)), { tmpDir: layout.tmp });
  const when = new Date(record.dead.at);
  await utimes(path, when, when);
  return true;
}
