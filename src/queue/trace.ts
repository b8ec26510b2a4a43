/**
 * What the spool still knows of given posts, recipient by recipient, for `malist trace`:
 * read-only, from the records the queue keeps anyway — the entry's envelope (waiting,
 * claimed, dead, or its done record as last written) and the sent-log (each final answer
 * with its time). The done record is read as written, not with the sent-log applied, so a
 * deferral that a later round turned into a delivery is still seen (its code, answer and
 * `tried_at`) next to the delivery. What is purged (`keep_done_seconds`) is gone.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Envelope, RecipientRecord, RecipientState } from './envelope.ts';
import { parseEnvelope } from './envelope.ts';
import { readSentLogRecords, type SentLogRecord } from './sent-log.ts';
import { listSpool, type SpoolLayout, sentLogPath } from './spool.ts';

/** One recipient of a queued post, as far as the spool remembers. */
export interface QueuedRecipient {
  address: string;
  state: RecipientState;
  /** Delivery attempts made for this recipient (the final one included). */
  tries: number;
  /** Pending: not before this time (ms) is it tried again. */
  next_attempt?: number;
  /** The last temporary answer (4xx, network), when one came before the final one. */
  deferred?: { code?: number; response?: string; at?: number };
  /** The final answer (250 or 5xx) and when it came; absent while pending. */
  final?: { code?: number; response?: string; at?: number };
}

export interface QueuedPost {
  /** The spool entry's ID. */
  id: string;
  list?: string;
  message_id?: string;
  /** When the entry was spooled (ms); absent for a post finished in its first round. */
  created?: number;
  /**
   * `waiting`/`claimed`: recipients are still owed; `done`: finished (done record);
   * `first-round`: finished at once, only its sent-log says so.
   */
  where: 'waiting' | 'claimed' | 'done' | 'first-round';
  /** The dead letter's directory, when recipients of the post were given up on. */
  dead?: string;
  recipients: QueuedRecipient[];
}

const bare = (id: string) => id.replace(/^<|>$/g, '').trim().toLowerCase();

/** One recipient from its envelope record and its sent-log record (either may be absent). */
function recipientOf(
  address: string,
  record: RecipientRecord | undefined,
  settled: SentLogRecord | undefined,
): QueuedRecipient {
  const attempts = record?.attempts ?? 0;
  const settledLater = settled !== undefined && record?.state !== settled.status;
  const state: RecipientState = settled?.status ?? record?.state ?? 'pending';
  const out: QueuedRecipient = { address, state, tries: attempts + (settledLater ? 1 : 0) };
  if (settled === undefined && record?.state !== 'pending' && record) {
    // Settled in the envelope itself (an expiry, a drop): its last answer is the final one.
    out.final = { code: record.code, response: record.response, at: record.tried_at };
    return out;
  }
  if (record && record.state === 'pending' && (record.code !== undefined || record.response))
    out.deferred = { code: record.code, response: record.response, at: record.tried_at };
  if (settled) out.final = { code: settled.code, response: settled.response, at: settled.at };
  if (state === 'pending' && record) out.next_attempt = record.next_attempt;
  if (out.tries === 0 && settled) out.tries = 1;
  return out;
}

/** One post from its envelope and its sent-log (for every store's `queuedPosts`). */
export function postOf(
  id: string,
  where: QueuedPost['where'],
  envelope: Envelope | undefined,
  log: Awaited<ReturnType<typeof readSentLogRecords>>,
): QueuedPost {
  const settled = new Map(log.records.map((r) => [r.recipient.toLowerCase(), r]));
  const records = new Map((envelope?.recipients ?? []).map((r) => [r.address.toLowerCase(), r]));
  const addresses = new Map<string, string>();
  for (const r of envelope?.recipients ?? []) addresses.set(r.address.toLowerCase(), r.address);
  for (const r of log.records) addresses.set(r.recipient.toLowerCase(), r.recipient);
  const list = envelope?.list ?? log.header?.list;
  const messageId = envelope?.message_id ?? log.header?.message_id;
  return {
    id,
    ...(list ? { list } : {}),
    ...(messageId ? { message_id: messageId } : {}),
    ...(envelope ? { created: envelope.created } : {}),
    where,
    recipients: [...addresses].map(([key, address]) =>
      recipientOf(address, records.get(key), settled.get(key)),
    ),
  };
}

async function readDoneAsWritten(layout: SpoolLayout, name: string): Promise<Envelope | undefined> {
  try {
    return parseEnvelope(await readFile(join(layout.done, name), 'utf8'));
  } catch {
    return undefined; // purged meanwhile, or unreadable: it says nothing
  }
}

/**
 * The posts of `list` in the spool whose Message-ID is one of `messageIds` (with or
 * without <>, any case): waiting, claimed, done or finished in their first round, each
 * with its dead letter when it has one.
 */
export async function readQueuedPosts(
  layout: SpoolLayout,
  list: string,
  messageIds: string[],
): Promise<QueuedPost[]> {
  const wanted = new Set(messageIds.map(bare));
  const ours = (l?: string, m?: string) => l === list && m !== undefined && wanted.has(bare(m));
  const found = new Map<string, { where: QueuedPost['where']; envelope?: Envelope }>();
  const dead = new Map<string, Envelope>();
  for (const entry of await listSpool(layout).catch(() => [])) {
    if (!ours(entry.envelope.list, entry.envelope.message_id)) continue;
    if (entry.where === 'dead') dead.set(entry.id, entry.envelope);
    else if (entry.firstRound) found.set(entry.id, { where: 'claimed' });
    else
      found.set(entry.id, {
        where: entry.where === 'new' ? 'waiting' : 'claimed',
        envelope: entry.envelope,
      });
  }
  for (const name of await readdir(layout.done).catch(() => [] as string[])) {
    const id = name.replace(/\.json$/, '');
    if (found.has(id) || !name.endsWith('.json')) continue;
    const envelope = await readDoneAsWritten(layout, name);
    if (envelope && ours(envelope.list, envelope.message_id))
      found.set(id, { where: 'done', envelope });
  }
  const logs = new Map<string, Awaited<ReturnType<typeof readSentLogRecords>>>();
  for (const name of await readdir(layout.sent).catch(() => [] as string[])) {
    const id = name.replace(/\.log$/, '');
    const log = await readSentLogRecords(join(layout.sent, name)).catch(() => undefined);
    if (!log) continue;
    logs.set(id, log);
    if (!found.has(id) && !dead.has(id) && ours(log.header?.list, log.header?.message_id))
      found.set(id, { where: 'first-round' });
  }
  // A dead letter whose entry is finished and purged still names who was given up on.
  for (const [id, envelope] of dead) if (!found.has(id)) found.set(id, { where: 'done', envelope });
  const out: QueuedPost[] = [];
  for (const [id, { where, envelope }] of found) {
    const log = logs.get(id) ?? (await readSentLogRecords(sentLogPath(layout, id)));
    const post = postOf(id, where, envelope ?? dead.get(id), log);
    if (dead.has(id)) post.dead = join(layout.dead, id);
    out.push(post);
  }
  return out;
}
