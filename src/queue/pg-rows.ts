/**
 * The rows of the queue on PostgreSQL (pg-store.ts) and the statements that read and write
 * them, each a plain function over a connection or a transaction.
 */
import type { Database, Sql } from '../state/pg.ts';
import { holderOf as holderRow, isHolderGone } from '../state/pg-lock.ts';
import type { RecipientResult } from '../types.ts';
import { applySettled, type Envelope, pendingRecords, type RecipientRecord } from './envelope.ts';
import type { SentLogRecord } from './sent-log.ts';
import type { EnqueueOutcome, SpoolEntry } from './spool.ts';
import { postOf, type QueuedPost } from './trace.ts';

export interface EntryRow {
  id: string;
  list: string | null;
  message_id: string | null;
  key: string | null;
  sender: string;
  created: number;
  seal: Envelope['seal'] | null;
  rounds: number;
  last_error: string | null;
  done_at: number | null;
}

export interface RecipientRow {
  n: number;
  address: string;
  state: RecipientRecord['state'];
  attempts: number;
  next_attempt: number;
  code: number | null;
  response: string | null;
  tried_at: number | null;
  claimed_by?: number | null;
}

export const ENTRY_COLUMNS =
  'id, list, message_id, key, sender, created, seal, rounds, last_error, done_at';
export const RECIPIENT_COLUMNS =
  'n, address, state, attempts, next_attempt, code, response, tried_at';

export function recordOf(row: RecipientRow): RecipientRecord {
  return {
    address: row.address,
    state: row.state,
    attempts: row.attempts,
    next_attempt: row.next_attempt,
    ...(row.code !== null ? { code: row.code } : {}),
    ...(row.response !== null ? { response: row.response } : {}),
    ...(row.tried_at !== null ? { tried_at: row.tried_at } : {}),
  };
}

export function envelopeOf(entry: EntryRow, rows: RecipientRow[]): Envelope {
  return {
    version: 1,
    id: entry.id,
    ...(entry.list !== null ? { list: entry.list } : {}),
    ...(entry.message_id !== null ? { message_id: entry.message_id } : {}),
    ...(entry.key !== null ? { key: entry.key } : {}),
    ...(entry.seal ? { seal: entry.seal } : {}),
    sender: entry.sender,
    created: entry.created,
    recipients: rows.map(recordOf),
    rounds: entry.rounds,
    ...(entry.last_error !== null ? { last_error: entry.last_error } : {}),
  };
}

export interface SentRow {
  address: string;
  status: 'delivered' | 'failed';
  code: number | null;
  response: string | null;
  at: number;
}

export function settledOf(rows: SentRow[], distributor: string): Map<string, RecipientResult> {
  const out = new Map<string, RecipientResult>();
  for (const r of rows)
    out.set(r.address.toLowerCase(), {
      recipient: r.address,
      status: r.status,
      distributor,
      ...(r.code !== null ? { code: r.code } : {}),
      ...(r.response !== null ? { response: r.response } : {}),
    });
  return out;
}

/** Inserts settled results into the sent-log (the first answer for a recipient stays). */
export async function insertSent(
  sql: Sql,
  id: string,
  results: RecipientResult[],
  now: number,
): Promise<void> {
  const settled = results.filter((r) => r.status === 'delivered' || r.status === 'failed');
  if (settled.length === 0) return;
  await sql.query(
    `INSERT INTO queue_sent (entry_id, address_lc, address, status, code, response, at)
     SELECT $1, lower(a), a, s, c, m, $6
       FROM unnest($2::text[], $3::text[], $4::int[], $5::text[]) AS u(a, s, c, m)
     ON CONFLICT (entry_id, address_lc) DO NOTHING`,
    [
      id,
      settled.map((r) => r.recipient),
      settled.map((r) => r.status),
      settled.map((r) => r.code ?? null),
      settled.map((r) => (r.response ? r.response.slice(0, 500) : null)),
      now,
    ],
  );
}

export async function entryRow(sql: Sql, id: string): Promise<EntryRow | undefined> {
  const [row] = await sql.query<EntryRow>(
    `SELECT ${ENTRY_COLUMNS} FROM queue_entries WHERE id = $1`,
    [id],
  );
  return row;
}

async function sentRows(sql: Sql, id: string): Promise<SentRow[]> {
  return sql.query<SentRow>(
    'SELECT address, status, code, response, at FROM queue_sent WHERE entry_id = $1',
    [id],
  );
}

/** An entry's sent-log as records, each answer with its time. */
export async function sentRecords(sql: Sql, id: string): Promise<SentLogRecord[]> {
  return (await sentRows(sql, id)).map((r) => ({
    recipient: r.address,
    status: r.status,
    at: r.at,
    ...(r.code !== null ? { code: r.code } : {}),
    ...(r.response !== null ? { response: r.response } : {}),
  }));
}

export async function recipientRows(sql: Sql, id: string): Promise<RecipientRow[]> {
  return sql.query<RecipientRow>(
    `SELECT ${RECIPIENT_COLUMNS} FROM queue_recipients WHERE entry_id = $1 ORDER BY n`,
    [id],
  );
}

/** The whole entry's envelope: every recipient row, the sent-log applied. */
export async function wholeEnvelope(sql: Sql, entry: EntryRow): Promise<Envelope> {
  const envelope = envelopeOf(entry, await recipientRows(sql, entry.id));
  applySettled(envelope, settledOf(await sentRows(sql, entry.id), 'queue'));
  return envelope;
}

/** Recipient rows one INSERT of an entry writes. */
export const INSERT_SLICE = 20_000;

/**
 * Inserts an entry and its recipient rows in one transaction; false when the ID exists.
 * `doneAt`: inserted finished (a done record a migration brings).
 */
export async function insertEntry(
  db: Database,
  envelope: Envelope,
  raw: Buffer,
  queue: string,
  /**
   * `doneAt`: inserted finished (a done record a migration brings). `more`: recipients
   * after the envelope's, a slice at a time, each slice inserted as it comes (envelope.ts).
   */
  extra: { doneAt?: number; more?: AsyncIterable<string[]> } = {},
): Promise<boolean> {
  const { doneAt, more } = extra;
  return db.transaction(async (tx) => {
    const inserted = await tx.query(
      `INSERT INTO queue_entries (id, list, message_id, key, sender, created, seal, rounds, message, queue, last_error, done_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
       ON CONFLICT (id) DO NOTHING RETURNING 1`,
      [
        envelope.id,
        envelope.list ?? null,
        envelope.message_id ?? null,
        envelope.key ?? null,
        envelope.sender,
        envelope.created,
        envelope.seal ? JSON.stringify(envelope.seal) : null,
        envelope.rounds,
        raw,
        queue,
        envelope.last_error ?? null,
        doneAt ?? null,
      ],
    );
    if (inserted.length === 0) return false;
    // In slices (one transaction still): a 1,000,000-member post is never seven
    // 1,000,000-element arrays and their text forms in memory at once.
    for (let from = 0; from < envelope.recipients.length; from += INSERT_SLICE)
      await insertRecipients(
        tx,
        envelope.id,
        envelope.recipients.slice(from, from + INSERT_SLICE),
        from,
      );
    if (!more) return true;
    // Streamed: each slice's records made, written and dropped, nothing of them kept (a
    // set of 1,000,000 addresses is ~70 MB): an address twice in a slice is one row here,
    // an address in two slices is one row after the DELETE below.
    let n = envelope.recipients.length;
    let slices = envelope.recipients.length > 0 ? 1 : 0;
    for await (const slice of more)
      for (let from = 0; from < slice.length; from += INSERT_SLICE) {
        const part = slice.slice(from, from + INSERT_SLICE);
        const r = pendingRecords(part, envelope.created, new Set());
        await insertRecipients(tx, envelope.id, r, n);
        n += r.length;
        if (r.length > 0) slices++;
      }
    // The first row of each address stays (the numbers of the others are left unused).
    if (slices > 1)
      await tx.query(
        `DELETE FROM queue_recipients q USING (
           SELECT lower(address) AS a, min(n) AS first FROM queue_recipients WHERE entry_id = $1
            GROUP BY 1 HAVING count(*) > 1) d
          WHERE q.entry_id = $1 AND lower(q.address) = d.a AND q.n <> d.first`,
        [envelope.id],
      );
    return true;
  });
}

/**
 * The columns a recipient's state is written in, one array each for unnest(): state,
 * attempts, next_attempt, code, response, tried_at (nulls for what a record lacks).
 */
function recordColumns(r: readonly RecipientRecord[]): unknown[][] {
  return [
    r.map((x) => x.state),
    r.map((x) => x.attempts),
    r.map((x) => x.next_attempt),
    r.map((x) => x.code ?? null),
    r.map((x) => x.response ?? null),
    r.map((x) => x.tried_at ?? null),
  ];
}

/** Writes recipient records as rows `from + 1` on (inside the entry's transaction). */
async function insertRecipients(
  sql: Sql,
  id: string,
  r: RecipientRecord[],
  from: number,
): Promise<void> {
  if (r.length === 0) return;
  await sql.query(
    `INSERT INTO queue_recipients (entry_id, n, address, state, attempts, next_attempt, code, response, tried_at)
         SELECT $1, $9 + n, a, s, t, x, c, m, w
           FROM unnest($2::text[], $3::text[], $4::int[], $5::bigint[], $6::int[], $7::text[], $8::bigint[])
                WITH ORDINALITY AS u(a, s, t, x, c, m, w, n)`,
    [id, r.map((x) => x.address), ...recordColumns(r), from],
  );
}

export interface ClaimQuery {
  id: string;
  dueBy: number | null;
  untriedSince: number | null;
  batch: number;
  worker: number;
  /** The server process holding the worker's lease: no lease, no claim. */
  backend: number;
  /** The lease lock's first key (HOLDER_SPACE). */
  leaseSpace: number;
}

/**
 * Claims up to `batch` pending rows of an entry for `worker`, in one short statement:
 * rows another claimer is taking right now are skipped, not waited for.
 */
export async function claimRows(sql: Sql, q: ClaimQuery): Promise<RecipientRow[]> {
  const rows = await sql.query<RecipientRow>(
    `WITH picked AS (
       SELECT n FROM queue_recipients
        WHERE entry_id = $1 AND state = 'pending' AND claimed_by IS NULL
          AND ($2::bigint IS NULL OR next_attempt <= $2)
          AND ($3::bigint IS NULL OR tried_at IS NULL OR tried_at < $3)
        ORDER BY n LIMIT $4 FOR UPDATE SKIP LOCKED)
     UPDATE queue_recipients r SET claimed_by = $5 FROM picked
      WHERE r.entry_id = $1 AND r.n = picked.n
        AND EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
                      AND classid = $6::oid AND objid = $5::oid AND objsubid = 2 AND pid = $7)
     RETURNING ${RECIPIENT_COLUMNS.replace(/(\w+)/g, 'r.$1')}`,
    [q.id, q.dueBy, q.untriedSince, q.batch, q.worker, q.leaseSpace, q.backend],
  );
  return rows.sort((a, b) => a.n - b.n);
}

/**
 * Writes a claim's recipients as `mine` has them (rows by number) and frees them; marks
 * the entry done when none is pending any more. Returns true when it did.
 */
export async function settleRows(
  db: Database,
  id: string,
  worker: number,
  mine: Array<RecipientRecord & { n: number }>,
  lastError: string | undefined,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    // One settle of an entry at a time: the last batch to settle sees every other one
    // committed, and marks the entry done.
    await tx.query('SELECT 1 FROM queue_entries WHERE id = $1 FOR UPDATE', [id]);
    await tx.query(
      `UPDATE queue_recipients r
          SET state = u.state, attempts = u.attempts, next_attempt = u.next_attempt,
              code = u.code, response = u.response, tried_at = u.tried_at, claimed_by = NULL
         FROM unnest($2::int[], $3::text[], $4::int[], $5::bigint[], $6::int[], $7::text[], $8::bigint[])
              AS u(n, state, attempts, next_attempt, code, response, tried_at)
        WHERE r.entry_id = $1 AND r.n = u.n AND r.claimed_by = $9`,
      [id, mine.map((r) => r.n), ...recordColumns(mine), worker],
    );
    await tx.query(
      'UPDATE queue_entries SET rounds = rounds + 1, last_error = coalesce($2, last_error) WHERE id = $1',
      [id, lastError ?? null],
    );
    // A pending row is either waiting (the claimable index finds the first at once) or
    // claimed by another worker (the claimed index: a few hundred rows). One `state =
    // 'pending'` test would walk the entry's whole primary key after every batch: O(n²)
    // over a post, 1 ms a batch at 20,000 members, ~50 ms at 1,000,000.
    const done = await tx.query(
      `UPDATE queue_entries SET done_at = $2 WHERE id = $1 AND done_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM queue_recipients
                           WHERE entry_id = $1 AND state = 'pending' AND claimed_by IS NULL)
          AND NOT EXISTS (SELECT 1 FROM queue_recipients
                           WHERE claimed_by IS NOT NULL AND entry_id = $1 AND state = 'pending')
       RETURNING 1`,
      [id, Date.now()],
    );
    return done.length > 0;
  });
}

/** Adds the failed recipients to an entry's dead letter (at `at`, else each its `tried_at`). */
export async function insertDead(
  sql: Sql,
  id: string,
  failed: RecipientRecord[],
  at?: number,
): Promise<void> {
  await sql.query(
    `INSERT INTO queue_dead (entry_id, address_lc, address, code, response, at)
     SELECT $1, lower(a), a, c, m, t FROM unnest($2::text[], $3::int[], $4::text[], $5::bigint[]) AS u(a, c, m, t)
     ON CONFLICT (entry_id, address_lc) DO UPDATE SET code = EXCLUDED.code, response = EXCLUDED.response`,
    [
      id,
      failed.map((r) => r.address),
      failed.map((r) => r.code ?? null),
      failed.map((r) => r.response ?? null),
      failed.map((r) => at ?? r.tried_at ?? Date.now()),
    ],
  );
}

async function holderOf(sql: Sql, id: number): Promise<NonNullable<SpoolEntry['holder']>> {
  const row = await holderRow(sql, id);
  return { host: row?.host ?? '?', pid: row?.pid ?? 0, start: `holder ${id}` };
}

/** Every unfinished entry (waiting or claimed) and every dead letter of a queue, for `queue list`. */
export async function listEntries(sql: Sql, queue: string): Promise<SpoolEntry[]> {
  const out: SpoolEntry[] = [];
  const open = await sql.query<EntryRow & { holder: number | null }>(
    `SELECT ${ENTRY_COLUMNS},
            (SELECT min(claimed_by) FROM queue_recipients r WHERE r.entry_id = e.id) AS holder
       FROM queue_entries e WHERE queue = $1 AND done_at IS NULL ORDER BY created, id`,
    [queue],
  );
  for (const entry of open) {
    const envelope = await wholeEnvelope(sql, entry);
    const holder = entry.holder;
    out.push({
      id: entry.id,
      where: holder === null ? 'new' : 'cur',
      ...(holder !== null ? { holder: await holderOf(sql, holder) } : {}),
      envelope,
    });
  }
  const dead = await sql.query<EntryRow>(
    `SELECT ${ENTRY_COLUMNS} FROM queue_entries e
      WHERE queue = $1 AND EXISTS (SELECT 1 FROM queue_dead d WHERE d.entry_id = e.id)
      ORDER BY created, id`,
    [queue],
  );
  for (const entry of dead) {
    const rows = await sql.query<RecipientRow>(
      `SELECT 0 AS n, address, 'failed' AS state, 0 AS attempts, 0 AS next_attempt, code, response, at AS tried_at
         FROM queue_dead WHERE entry_id = $1 ORDER BY address_lc`,
      [entry.id],
    );
    out.push({ id: entry.id, where: 'dead', envelope: envelopeOf(entry, rows) });
  }
  return out;
}

/** `malist trace`: a list's posts by Message-ID, recipient by recipient. */
export async function queuedPostsOf(
  sql: Sql,
  list: string,
  messageIds: string[],
  deadWhere: (id: string) => string,
  queue: string,
): Promise<QueuedPost[]> {
  const bare = messageIds.map((m) => m.replace(/^<|>$/g, '').trim().toLowerCase());
  const entries = await sql.query<EntryRow & { claimed: boolean; dead: boolean }>(
    `SELECT ${ENTRY_COLUMNS},
            EXISTS (SELECT 1 FROM queue_recipients r WHERE r.entry_id = e.id AND r.claimed_by IS NOT NULL) AS claimed,
            EXISTS (SELECT 1 FROM queue_dead d WHERE d.entry_id = e.id) AS dead
       FROM queue_entries e
      WHERE list = $1 AND lower(btrim(message_id, '<> ')) = ANY($2::text[]) AND queue = $3`,
    [list, bare, queue],
  );
  const out: QueuedPost[] = [];
  for (const entry of entries) {
    const records = await sentRecords(sql, entry.id);
    const where = entry.done_at !== null ? 'done' : entry.claimed ? 'claimed' : 'waiting';
    const envelope = envelopeOf(entry, await recipientRows(sql, entry.id));
    const post = postOf(entry.id, where, envelope, { records });
    if (entry.dead) post.dead = deadWhere(entry.id);
    out.push(post);
  }
  return out;
}

/** What the database holds of `id`: an entry, a done record (with its envelope), or nothing. */
export async function existingEntry(sql: Sql, id: string): Promise<EnqueueOutcome | undefined> {
  const entry = await entryRow(sql, id);
  if (!entry) return undefined;
  if (entry.done_at === null) return { id, status: 'exists' };
  return { id, status: 'done', envelope: await wholeEnvelope(sql, entry) };
}

/** The whole envelope of an entry that is `open` (not done), `done`, or either. */
export async function envelopeIn(
  sql: Sql,
  id: string,
  which: 'open' | 'done' | 'any',
): Promise<Envelope | undefined> {
  const entry = await entryRow(sql, id);
  if (!entry) return undefined;
  if (which === 'open' && entry.done_at !== null) return undefined;
  if (which === 'done' && entry.done_at === null) return undefined;
  return wholeEnvelope(sql, entry);
}

/** A queue's unfinished entries with a recipient waiting for a claim, oldest first. */
export async function waitingIds(sql: Sql, queue: string): Promise<string[]> {
  const rows = await sql.query<{ id: string }>(
    `SELECT e.id FROM queue_entries e WHERE e.queue = $1 AND e.done_at IS NULL
        AND EXISTS (SELECT 1 FROM queue_recipients r
                     WHERE r.entry_id = e.id AND r.state = 'pending' AND r.claimed_by IS NULL)
      ORDER BY e.created, e.id`,
    [queue],
  );
  return rows.map((r) => r.id);
}

/** The sent-log of `addresses` (lower-cased) of an entry. */
export async function sentOf(
  sql: Sql,
  id: string,
  addresses: string[],
  distributor: string,
): Promise<Map<string, RecipientResult>> {
  const rows = await sql.query<SentRow>(
    `SELECT address, status, code, response, at FROM queue_sent
      WHERE entry_id = $1 AND address_lc = ANY($2::text[])`,
    [id, addresses],
  );
  return settledOf(rows, distributor);
}

export async function removeDead(sql: Sql, id: string): Promise<boolean> {
  return (
    (await sql.query('DELETE FROM queue_dead WHERE entry_id = $1 RETURNING 1', [id])).length > 0
  );
}

/** Removes a queue's done records (with their rows and sent-log) finished before `cut`, unless dead. */
export async function purgeDone(sql: Sql, cut: number, queue: string): Promise<number> {
  const gone = await sql.query(
    `DELETE FROM queue_entries e WHERE queue = $2 AND done_at IS NOT NULL AND done_at < $1
        AND NOT EXISTS (SELECT 1 FROM queue_dead d WHERE d.entry_id = e.id) RETURNING 1`,
    [cut, queue],
  );
  return gone.length;
}

/** A queue's claims of workers whose lease is gone, one per (worker, entry), as `worker:entry`. */
export async function staleClaims(
  sql: Sql,
  self: number | undefined,
  queue: string,
): Promise<Array<{ id: string; name: string }>> {
  const holders = await sql.query<{ claimed_by: number }>(
    `SELECT DISTINCT r.claimed_by FROM queue_recipients r JOIN queue_entries e ON e.id = r.entry_id
      WHERE r.claimed_by IS NOT NULL AND r.claimed_by <> $1 AND e.queue = $2`,
    [self ?? -1, queue],
  );
  const out: Array<{ id: string; name: string }> = [];
  for (const { claimed_by: holder } of holders) {
    if (!(await isHolderGone(sql, holder))) continue;
    const entries = await sql.query<{ entry_id: string }>(
      `SELECT DISTINCT r.entry_id FROM queue_recipients r JOIN queue_entries e ON e.id = r.entry_id
        WHERE r.claimed_by = $1 AND e.queue = $2`,
      [holder, queue],
    );
    for (const { entry_id: id } of entries) out.push({ id, name: `${holder}:${id}` });
  }
  return out;
}

/** The bytes of an entry not done yet (for a migration); undefined otherwise. */
export async function openMessage(sql: Sql, id: string): Promise<Buffer | undefined> {
  const [row] = await sql.query<{ message: Buffer }>(
    'SELECT message FROM queue_entries WHERE id = $1 AND done_at IS NULL',
    [id],
  );
  return row?.message;
}
