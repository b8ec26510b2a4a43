/**
 * The journal on PostgreSQL (`storage: {type: postgres}`): one row per (scope, message key),
 * so workers on several hosts share one record of what was handled.
 *
 * The claim that makes one worker handle a post is a row in `malist_journal_claims`
 * inserted with ON CONFLICT DO NOTHING — atomic across every process on the database — that
 * names its holder: the number of the process's one lease (state/pg-lock.ts, shared with the
 * queue's claims), a session-level advisory lock on a connection of its own for as long as
 * the process lives. A claim whose holder's lock can be taken is a dead holder's (its
 * process or its connection went away: PostgreSQL drops a session's locks with it), and is
 * taken over at once; a live holder's claim is waited for. Never by a clock.
 */
import { ClaimError } from '../errors.ts';
import { isoTime } from '../mail/iso-time.ts';
import {
  type ClaimOptions,
  HeldClaims,
  type Journal,
  type JournalClaim,
  type JournalEntry,
  type KeyedJournalEntry,
} from './journal.ts';
import { type Database, requireSchema, type SchemaPart } from './pg.ts';
import { HOLDER_SPACE, type ProcessLease, processLease, type SessionLock } from './pg-lock.ts';

export const JOURNAL_SCHEMA: SchemaPart = {
  name: 'journal',
  migrations: [
    `CREATE TABLE malist_journal (
       scope text NOT NULL,
       key text NOT NULL,
       at timestamptz NOT NULL,
       entry jsonb NOT NULL,
       PRIMARY KEY (scope, key)
     );
     CREATE INDEX malist_journal_recent ON malist_journal (scope, at DESC, key DESC);
     CREATE TABLE malist_journal_claims (
       scope text NOT NULL,
       key text NOT NULL,
       holder integer NOT NULL,
       since timestamptz NOT NULL DEFAULT now(),
       PRIMARY KEY (scope, key)
     );`,
  ],
};

/**
 * A claim's row is taken and given back without waiting for its WAL flush (the record of
 * the handled post, between the two, still waits for its own). Losing a claim row in a
 * server crash changes nothing: the crash ends every session, so every holder's lock is
 * gone and any claim row left would be taken over at once anyway; a release lost the same
 * way leaves a dead holder's row, taken over likewise. A post then costs one WAL flush,
 * not three (issue 22's intake row). No delivery depends on a claim row outliving a crash:
 * the delivery's own record commits with its flush (and flushes the claim before it), and
 * a holder living through a restart finds its lease lost and records nothing under it.
 * test/storage/pg-restart.test.ts crashes the server (`pg_ctl stop -m immediate`) under
 * `malist receive`: none lost, none twice, so the claims stay asynchronous.
 */
const NO_FLUSH_WAIT = 'SET LOCAL synchronous_commit = off';
/** Rows `recent` reads at once. */
const RECENT_BATCH = 200;

export class PgJournal implements Journal {
  private readonly claims = new HeldClaims();
  /** The lease each claim this process holds was taken under (scope + key → holder). */
  private readonly holders = new Map<string, SessionLock>();

  private constructor(
    private readonly db: Database,
    private readonly lease: ProcessLease,
    private readonly ownLease: boolean,
  ) {}

  /**
   * The journal on `db`, its tables created on a fresh database (else checked). `lease`: the
   * process's lease (config/storage-pg.ts); without it the journal takes one of its own,
   * ended by `close()`.
   */
  static async open(db: Database, lease?: ProcessLease): Promise<PgJournal> {
    await requireSchema(db, JOURNAL_SCHEMA);
    return new PgJournal(db, lease ?? processLease(db), !lease);
  }

  async get(scope: string, key: string): Promise<JournalEntry | undefined> {
    const rows = await this.db.query<{ entry: JournalEntry }>(
      'SELECT entry FROM malist_journal WHERE scope = $1 AND key = $2',
      [scope, key],
    );
    return rows[0]?.entry;
  }

  async *recent(scope: string, since?: number): AsyncGenerator<KeyedJournalEntry> {
    let after: { at: Date; key: string } | undefined;
    for (;;) {
      const rows: { key: string; at: Date; entry: JournalEntry }[] = await this.db.query(
        `SELECT key, at, entry FROM malist_journal
          WHERE scope = $1 AND ($2::timestamptz IS NULL OR at >= $2)
            AND ($3::timestamptz IS NULL OR (at, key) < ($3, $4))
          ORDER BY at DESC, key DESC LIMIT ${RECENT_BATCH}`,
        [
          scope,
          since === undefined ? null : new Date(since),
          after?.at ?? null,
          after?.key ?? null,
        ],
      );
      for (const row of rows) yield { key: row.key, entry: row.entry };
      if (rows.length < RECENT_BATCH) return;
      const last = rows.at(-1)!;
      after = { at: last.at, key: last.key };
    }
  }

  async record(scope: string, key: string, entry: Omit<JournalEntry, 'at'>): Promise<void> {
    await this.put(scope, key, { ...entry, at: isoTime(Date.now()) });
  }

  async scopes(): Promise<string[]> {
    const rows = await this.db.query<{ scope: string }>(
      'SELECT DISTINCT scope FROM malist_journal ORDER BY scope',
    );
    return rows.map((r) => r.scope);
  }

  async put(scope: string, key: string, full: JournalEntry): Promise<void> {
    const holder = this.holders.get(`${scope}\n${key}`);
    if (holder?.lost()) throw new ClaimLost(key, holder.id);
    await this.db.query(
      `INSERT INTO malist_journal (scope, key, at, entry) VALUES ($1, $2, $3, $4)
       ON CONFLICT (scope, key) DO UPDATE SET at = EXCLUDED.at, entry = EXCLUDED.entry`,
      [scope, key, full.at, JSON.stringify(full)],
    );
  }

  async claim(scope: string, key: string, options: ClaimOptions = {}): Promise<JournalClaim> {
    return this.claims.take(`${scope}\n${key}`, key, options, async () => {
      const me = await this.lease.holder();
      const other = await this.tryClaim(scope, key, me.id);
      if (other !== undefined) return { busy: `holder ${other}` };
      const id = `${scope}\n${key}`;
      this.holders.set(id, me);
      return {
        release: async () => {
          this.holders.delete(id);
          await this.db.transaction(async (sql) => {
            await sql.query(NO_FLUSH_WAIT);
            await sql.query(
              'DELETE FROM malist_journal_claims WHERE scope = $1 AND key = $2 AND holder = $3',
              [scope, key, me.id],
            );
          });
        },
      };
    });
  }

  /** Claims the key for `me`: undefined when it is ours now, else the live holder's number. */
  private async tryClaim(scope: string, key: string, me: number): Promise<number | undefined> {
    return this.db.transaction(async (sql) => {
      await sql.query(NO_FLUSH_WAIT);
      const inserted = await sql.query(
        `INSERT INTO malist_journal_claims (scope, key, holder) VALUES ($1, $2, $3)
         ON CONFLICT (scope, key) DO NOTHING RETURNING holder`,
        [scope, key, me],
      );
      if (inserted.length > 0) return undefined;
      const [row] = await sql.query<{ holder: number }>(
        'SELECT holder FROM malist_journal_claims WHERE scope = $1 AND key = $2 FOR UPDATE',
        [scope, key],
      );
      if (!row) return 0; // released between the two statements: try again at once
      // Our own number but not in our claims: a holder before us that died with this number.
      const gone =
        row.holder === me ||
        (
          await sql.query<{ free: boolean }>('SELECT pg_try_advisory_xact_lock($1, $2) AS free', [
            HOLDER_SPACE,
            row.holder,
          ])
        )[0]?.free === true;
      if (!gone) return row.holder;
      await sql.query(
        'UPDATE malist_journal_claims SET holder = $3, since = now() WHERE scope = $1 AND key = $2',
        [scope, key, me],
      );
      return undefined;
    });
  }

  async close(): Promise<void> {
    if (this.ownLease) await this.lease.end();
  }
}

/**
 * A record refused: the claim on the mail was taken under a lease this process has lost (its
 * database session ended), so another worker may be handling the mail now. Temporary: the
 * mail is not acked and stays at its source; whoever holds the claim records it.
 */
export class ClaimLost extends ClaimError {
  constructor(key: string, holder: number) {
    super(
      `the journal's claim on ${key} was lost with this process's database lease (holder ${holder}); not recorded, the mail stays at its source for the worker that took the claim over`,
    );
    this.name = 'ClaimLost';
  }
}
