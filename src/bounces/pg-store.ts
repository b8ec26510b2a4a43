/**
 * Bounce state on PostgreSQL (`storage: {type: postgres}`): a DSN received on one host
 * scores the member for every host, `malist members list` and the web read the same rows,
 * and the sent index one host writes proves a bounce another host receives.
 *
 * - `malist_bounces`: a row per (list, normal address), the record as jsonb (score.ts's
 *   BounceRecord, as the files keep it). A change is a transaction that takes a
 *   transaction-level advisory lock on (list, address) before reading the row, so two hosts
 *   recording bounces of one member at once are serialised: the second reads what the
 *   first wrote, and neither is lost. (A row lock would need the row to exist first: the
 *   first bounce of a member has none; the advisory lock also covers that one.) The lock
 *   dies with the transaction, whatever happens to its process.
 * - `malist_sent`: a row per delivery report, like a line of the file index: the UTC day,
 *   the Message-ID's hash and the members' hashes (text[]); one INSERT each, nothing to
 *   lock. Days older than the index keeps are deleted once a day per process and list.
 * - `malist_complaints` (a row per counted event, keyed by its id: `INSERT … ON CONFLICT DO
 *   NOTHING` counts a replay once) and `malist_complaint_days` (the count per day, raised
 *   by an UPSERT in the same transaction as the event's insert).
 */
import { normalizeAddress } from '../mail/address.ts';
import { isoDay } from '../mail/iso-time.ts';
import { type Database, requireSchema, type SchemaPart } from '../state/pg.ts';
import {
  type Complaint,
  type ComplaintRecord,
  DAYS_KEPT,
  RECENT_KEPT,
  SEEN_KEPT,
} from './complaints.ts';
import type { BounceRecord } from './score.ts';
import { indexHash, messageIdKey, SENT_INDEX_DAYS } from './sent-index.ts';
import type { BounceRecords } from './state.ts';
import type { BounceStorage, BounceStore, ComplaintStore, SentEntry, SentLog } from './store.ts';

export const BOUNCES_SCHEMA: SchemaPart = {
  name: 'bounces',
  migrations: [
    `CREATE TABLE malist_bounces (
       list text NOT NULL,
       address text NOT NULL,
       record jsonb NOT NULL,
       changed_at timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (list, address)
     );
     CREATE TABLE malist_sent (
       seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
       list text NOT NULL,
       day date NOT NULL,
       id_hash text NOT NULL,
       members text[] NOT NULL
     );
     CREATE INDEX malist_sent_id ON malist_sent (list, id_hash);
     CREATE INDEX malist_sent_day ON malist_sent (list, day);
     CREATE TABLE malist_complaints (
       list text NOT NULL,
       id text NOT NULL,
       at bigint,
       address text,
       service text,
       feedback_type text,
       PRIMARY KEY (list, id)
     );
     CREATE INDEX malist_complaints_at ON malist_complaints (list, at);
     CREATE TABLE malist_complaint_days (
       list text NOT NULL,
       day date NOT NULL,
       complaints integer NOT NULL,
       PRIMARY KEY (list, day)
     );`,
  ],
};

/** The first key of a bounce record's advisory lock ("mlbo"); the second hashes list and address. */
const RECORD_LOCK_SPACE = 0x6d6c626f;
const DAY_MS = 86_400_000;

class PgBounceStore implements BounceStore {
  constructor(
    private readonly db: Database,
    readonly list: string,
  ) {}

  async all(): Promise<BounceRecords> {
    const rows = await this.db.query<{ address: string; record: BounceRecord }>(
      'SELECT address, record FROM malist_bounces WHERE list = $1 ORDER BY address',
      [this.list],
    );
    return Object.fromEntries(rows.map((r) => [r.address, r.record]));
  }

  async get(address: string): Promise<BounceRecord | undefined> {
    const rows = await this.db.query<{ record: BounceRecord }>(
      'SELECT record FROM malist_bounces WHERE list = $1 AND address = $2',
      [this.list, normalizeAddress(address)],
    );
    return rows[0]?.record;
  }

  change(
    address: string,
    edit: (record: BounceRecord | undefined) => BounceRecord | undefined,
  ): Promise<BounceRecord | undefined> {
    const key = normalizeAddress(address);
    return this.db.transaction(async (sql) => {
      await sql.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [
        RECORD_LOCK_SPACE,
        `${this.list} ${key}`,
      ]);
      const rows = await sql.query<{ record: BounceRecord }>(
        'SELECT record FROM malist_bounces WHERE list = $1 AND address = $2',
        [this.list, key],
      );
      const old = rows[0]?.record;
      const next = edit(old);
      if (next === old) return next;
      if (next)
        await sql.query(
          `INSERT INTO malist_bounces (list, address, record) VALUES ($1, $2, $3)
           ON CONFLICT (list, address) DO UPDATE SET record = EXCLUDED.record, changed_at = now()`,
          [this.list, key, JSON.stringify(next)],
        );
      else
        await sql.query('DELETE FROM malist_bounces WHERE list = $1 AND address = $2', [
          this.list,
          key,
        ]);
      return next;
    });
  }
}

/** Runs `task` at most once a UTC day per key in this process (pruning old rows). */
function oncePerDay(): (key: string, now: number, task: () => Promise<unknown>) => Promise<void> {
  const done = new Map<string, string>();
  return async (key, now, task) => {
    const day = isoDay(now);
    if (done.get(key) === day) return;
    await task();
    done.set(key, day);
  };
}

class PgSentLog implements SentLog {
  private readonly prune = oncePerDay();
  constructor(
    private readonly db: Database,
    readonly days = SENT_INDEX_DAYS,
  ) {}

  async record(list: string, messageId: string, recipients: string[], now: number) {
    const id = messageIdKey(messageId);
    const members = recipients.map((r) => normalizeAddress(r)).filter(Boolean);
    if (!id || members.length === 0) return;
    await this.db.query(
      'INSERT INTO malist_sent (list, day, id_hash, members) VALUES ($1, $2, $3, $4)',
      [list, isoDay(now), indexHash(id), members.map(indexHash)],
    );
    await this.prune(list, now, () =>
      this.db.query('DELETE FROM malist_sent WHERE list = $1 AND day < $2', [
        list,
        isoDay(now - this.days * DAY_MS),
      ]),
    );
  }

  async has(list: string, messageIds: string[], member: string, now: number) {
    const who = normalizeAddress(member);
    const ids = messageIds.map(messageIdKey).filter(Boolean).map(indexHash);
    if (!who || ids.length === 0) return false;
    const rows = await this.db.query(
      `SELECT 1 FROM malist_sent WHERE list = $1 AND id_hash = ANY($2) AND day BETWEEN $3 AND $4
       AND $5 = ANY(members) LIMIT 1`,
      [list, ids, isoDay(now - this.days * DAY_MS), isoDay(now), indexHash(who)],
    );
    return rows.length > 0;
  }

  async deliveredOn(list: string, now: number) {
    const rows = await this.db.query<{ n: number }>(
      'SELECT coalesce(sum(cardinality(members)), 0)::bigint AS n FROM malist_sent WHERE list = $1 AND day = $2',
      [list, isoDay(now)],
    );
    return rows[0]?.n ?? 0;
  }

  async entries(list: string): Promise<SentEntry[]> {
    return this.db.query<SentEntry>(
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, id_hash AS id, members FROM malist_sent
       WHERE list = $1 ORDER BY day, seq`,
      [list],
    );
  }

  async restore(list: string, entries: SentEntry[]): Promise<number> {
    let added = 0;
    for (const e of entries) {
      const rows = await this.db.query(
        `INSERT INTO malist_sent (list, day, id_hash, members) SELECT $1, $2::date, $3, $4::text[]
         WHERE NOT EXISTS (SELECT 1 FROM malist_sent WHERE list = $1 AND day = $2::date
                           AND id_hash = $3 AND members = $4::text[])
         RETURNING seq`,
        [list, e.day, e.id, e.members],
      );
      added += rows.length;
    }
    return added;
  }
}

type RecentRow = { at: number; address: string; service: string; feedback_type: string | null };

class PgComplaintStore implements ComplaintStore {
  constructor(
    private readonly db: Database,
    private readonly list: string,
    private readonly prune: ReturnType<typeof oncePerDay>,
  ) {}

  async read(): Promise<ComplaintRecord> {
    const [days, recent, seen] = await Promise.all([
      this.db.query<{ day: string; complaints: number }>(
        `SELECT to_char(day, 'YYYY-MM-DD') AS day, complaints FROM malist_complaint_days
         WHERE list = $1 ORDER BY day`,
        [this.list],
      ),
      this.db.query<RecentRow>(
        `SELECT at, address, service, feedback_type FROM malist_complaints
         WHERE list = $1 AND at IS NOT NULL AND address IS NOT NULL ORDER BY at DESC, id LIMIT $2`,
        [this.list, RECENT_KEPT],
      ),
      this.db.query<{ id: string }>(
        'SELECT id FROM malist_complaints WHERE list = $1 ORDER BY at DESC NULLS LAST, id LIMIT $2',
        [this.list, SEEN_KEPT],
      ),
    ]);
    return {
      days: Object.fromEntries(days.map((d) => [d.day, d.complaints])),
      recent: recent.reverse().map((r) => ({
        at: r.at,
        address: r.address,
        service: r.service,
        ...(r.feedback_type ? { type: r.feedback_type } : {}),
      })),
      seen: seen.map((s) => s.id).reverse(),
    };
  }

  async add(c: Complaint, now: number): Promise<boolean> {
    const fresh = await this.db.transaction(async (sql) => {
      const won = await sql.query(
        `INSERT INTO malist_complaints (list, id, at, address, service, feedback_type)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id`,
        [this.list, c.id, now, normalizeAddress(c.address), c.service, c.type ?? null],
      );
      if (won.length === 0) return false;
      await sql.query(
        `INSERT INTO malist_complaint_days (list, day, complaints) VALUES ($1, $2, 1)
         ON CONFLICT (list, day) DO UPDATE SET complaints = malist_complaint_days.complaints + 1`,
        [this.list, isoDay(now)],
      );
      return true;
    });
    // As the files keep DAYS_KEPT days of counts: the events and counts older go.
    await this.prune(this.list, now, async () => {
      const oldest = now - DAYS_KEPT * DAY_MS;
      await this.db.query('DELETE FROM malist_complaint_days WHERE list = $1 AND day < $2', [
        this.list,
        isoDay(oldest),
      ]);
      await this.db.query('DELETE FROM malist_complaints WHERE list = $1 AND at < $2', [
        this.list,
        oldest,
      ]);
    });
    return fresh;
  }

  async merge(record: ComplaintRecord): Promise<number> {
    return this.db.transaction(async (sql) => {
      let added = 0;
      // The files append an id to `seen` and its details to `recent` together, so the last
      // ids are the recent ones, in order; older ids have lost their details.
      const offset = record.seen.length - record.recent.length;
      for (const [i, id] of record.seen.entries()) {
        const r = i >= offset ? record.recent[i - offset] : undefined;
        const rows = await sql.query(
          `INSERT INTO malist_complaints (list, id, at, address, service, feedback_type)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id`,
          [this.list, id, r?.at ?? null, r?.address ?? null, r?.service ?? null, r?.type ?? null],
        );
        added += rows.length;
      }
      for (const [day, n] of Object.entries(record.days))
        await sql.query(
          `INSERT INTO malist_complaint_days (list, day, complaints) VALUES ($1, $2, $3)
           ON CONFLICT (list, day) DO UPDATE
           SET complaints = GREATEST(malist_complaint_days.complaints, EXCLUDED.complaints)`,
          [this.list, day, n],
        );
      return added;
    });
  }
}

/** Bounce state on `db`, the tables created on a fresh database (else checked). */
export async function pgBounceStorage(db: Database): Promise<BounceStorage> {
  await requireSchema(db, BOUNCES_SCHEMA);
  const prune = oncePerDay();
  return {
    label: db.label,
    records: (list) => new PgBounceStore(db, list),
    sent: new PgSentLog(db),
    complaints: (list) => new PgComplaintStore(db, list, prune),
  };
}
