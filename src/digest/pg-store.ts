/**
 * A list's digest in the making on PostgreSQL (`storage: {type: postgres}`): posts collected
 * by any host go into one collection, and each issue is sent once, with every collected post
 * in exactly one issue, however many hosts run `malist digest` or `run` when it is due.
 *
 * `malist_digest_posts` keeps a row per (list, collected key): its bytes, arrival and size,
 * and the issue it went into once claimed — a key is collected once (a replay adds nothing),
 * and a sent post keeps its row (without its bytes) for 30 days so a late replay does not
 * collect it into a second issue. `malist_digest_issues` keeps each issue's number and
 * state (`open` while being sent, then `sent`); at most one is open per list.
 *
 * Claiming takes a session advisory lock on the list's digest on a connection of its own
 * (state/pg-lock.ts), held until the issue is finished or released: another host's claim
 * meanwhile finds the lock taken and sends nothing. A sender that dies loses its session,
 * and with it the lock: the next claim resumes the open issue (same number, same posts, same
 * key, so the journal sends it once). A sender whose session is cut while it lives (the
 * network, a restarted server, pg_terminate_backend) checks its lock is still held, as the
 * server sees it, before each send and in the transaction that marks the issue sent: it
 * sends nothing more and leaves the issue open for the host that took the claim over.
 */

import { type Database, requireSchema, type SchemaPart, type Sql } from '../state/pg.ts';
import { holdSessionLock, type SessionLock } from '../state/pg-lock.ts';
import { type DigestNumber, nextNumber } from './numbering.ts';
import {
  collectedKey,
  DigestClaimLost,
  type DigestCollection,
  type DigestIssue,
  keyOfName,
  laterIssue,
  type PendingPost,
  pendingName,
} from './store.ts';

export const DIGEST_SCHEMA: SchemaPart = {
  name: 'digest',
  migrations: [
    `CREATE TABLE malist_digest_issues (
       id bigserial PRIMARY KEY,
       list text NOT NULL,
       volume integer NOT NULL,
       issue integer NOT NULL,
       year integer NOT NULL,
       date text NOT NULL,
       state text NOT NULL CHECK (state IN ('open', 'sent')),
       UNIQUE (list, volume, issue)
     );
     CREATE UNIQUE INDEX malist_digest_one_open ON malist_digest_issues (list) WHERE state = 'open';
     CREATE TABLE malist_digest_posts (
       list text NOT NULL,
       key text NOT NULL,
       arrived bigint NOT NULL,
       size integer NOT NULL,
       bytes bytea,
       issue bigint REFERENCES malist_digest_issues (id),
       sent_at timestamptz,
       PRIMARY KEY (list, key)
     );
     CREATE INDEX malist_digest_posts_pending ON malist_digest_posts (list, issue, arrived, key);`,
  ],
};

/** The advisory lock space of digest claims ("digest" in ASCII); the id is the list's hashtext. */
const DIGEST_LOCK = 0x646967657374 % 2 ** 31;
/** How long a sent post's key is kept against a late replay. */
const KEEP_SENT = '30 days';

interface IssueRow {
  id: number;
  volume: number;
  issue: number;
  year: number;
  date: string;
}

class Busy extends Error {}

/** The open sessions holding a list's claim, by database and list (one per process). */
const claims = new WeakMap<Database, Map<string, SessionLock>>();

export class PgDigestStore implements DigestCollection {
  private constructor(
    private readonly db: Database,
    readonly list: string,
  ) {}

  /** `list`'s collection on `db`, its tables created on a fresh database (else checked). */
  static async open(db: Database, list: string): Promise<PgDigestStore> {
    return (await PgDigestStore.opener(db))(list);
  }

  /** Every list's collection on `db`, the schema checked once. */
  static async opener(db: Database): Promise<(list: string) => PgDigestStore> {
    await requireSchema(db, DIGEST_SCHEMA);
    return (list) => new PgDigestStore(db, list);
  }

  async add(key: string, bytes: Buffer, now = Date.now()): Promise<boolean> {
    const rows = await this.db.query(
      `INSERT INTO malist_digest_posts (list, key, arrived, size, bytes) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (list, key) DO NOTHING RETURNING key`,
      [this.list, collectedKey(key), now, bytes.length, bytes],
    );
    return rows.length === 1;
  }

  async pending(): Promise<PendingPost[]> {
    const rows = await this.db.query<{ key: string; arrived: number; size: number }>(
      `SELECT key, arrived, size FROM malist_digest_posts
       WHERE list = $1 AND issue IS NULL ORDER BY arrived, key`,
      [this.list],
    );
    return rows.map((r) => ({
      name: pendingName(r.arrived, r.key),
      size: r.size,
      time: r.arrived,
    }));
  }

  async last(): Promise<DigestNumber | undefined> {
    const [row] = await this.db.query<IssueRow>(
      `SELECT volume, issue, year FROM malist_digest_issues WHERE list = $1 AND state = 'sent'
       ORDER BY volume DESC, issue DESC LIMIT 1`,
      [this.list],
    );
    return row ? { volume: row.volume, issue: row.issue, year: row.year } : undefined;
  }

  private async open_(sql: Sql): Promise<(DigestIssue & { id: number }) | undefined> {
    const [row] = await sql.query<IssueRow>(
      `SELECT id, volume, issue, year, date FROM malist_digest_issues WHERE list = $1 AND state = 'open'`,
      [this.list],
    );
    if (!row) return undefined;
    const posts = await sql.query<{ key: string; arrived: number }>(
      'SELECT key, arrived FROM malist_digest_posts WHERE list = $1 AND issue = $2 ORDER BY arrived, key',
      [this.list, row.id],
    );
    return {
      id: row.id,
      number: { volume: row.volume, issue: row.issue, year: row.year },
      posts: posts.map((p) => pendingName(p.arrived, p.key)),
      date: row.date,
    };
  }

  async openIssue(): Promise<DigestIssue | undefined> {
    const open = await this.open_(this.db);
    if (!open) return undefined;
    const { id: _id, ...issue } = open;
    return issue;
  }

  private held(): Map<string, SessionLock> {
    let map = claims.get(this.db);
    if (!map) {
      map = new Map();
      claims.set(this.db, map);
    }
    return map;
  }

  /** Ends this process's claim on the list (the lock back, the connection to the pool). */
  private async unlock(): Promise<void> {
    const lock = this.held().get(this.list);
    this.held().delete(this.list);
    await lock?.end();
  }

  async claim(date: Date, maxPosts = 500): Promise<DigestIssue | undefined> {
    // Another send of this list in this process holds the claim: it sends the issue.
    if (this.held().has(this.list)) return undefined;
    {
      let lock: SessionLock;
      try {
        lock = await holdSessionLock(this.db, DIGEST_LOCK, async (s) => {
          const [row] = await s.query<{ id: number; ok: boolean }>(
            'SELECT hashtext($2) AS id, pg_try_advisory_lock($1, hashtext($2)) AS ok',
            [DIGEST_LOCK, this.list],
          );
          if (!row?.ok) throw new Busy();
          return row.id;
        });
      } catch (error) {
        if (error instanceof Busy) return undefined;
        throw error;
      }
      this.held().set(this.list, lock);
    }
    try {
      const issue = await this.db.transaction(async (sql) => {
        const open = await this.open_(sql);
        if (open) return open;
        const posts = await sql.query<{ key: string; arrived: number }>(
          `SELECT key, arrived FROM malist_digest_posts WHERE list = $1 AND issue IS NULL
           ORDER BY arrived, key LIMIT $2`,
          [this.list, maxPosts],
        );
        if (posts.length === 0) return undefined;
        const [last] = await sql.query<IssueRow>(
          `SELECT volume, issue, year FROM malist_digest_issues WHERE list = $1
           ORDER BY volume DESC, issue DESC LIMIT 1`,
          [this.list],
        );
        const number = nextNumber(
          last ? { volume: last.volume, issue: last.issue, year: last.year } : undefined,
          date,
        );
        const [made] = await sql.query<{ id: number }>(
          `INSERT INTO malist_digest_issues (list, volume, issue, year, date, state)
           VALUES ($1, $2, $3, $4, $5, 'open') RETURNING id`,
          [this.list, number.volume, number.issue, number.year, date.toISOString()],
        );
        await sql.query(
          'UPDATE malist_digest_posts SET issue = $3 WHERE list = $1 AND key = ANY($2) AND issue IS NULL',
          [this.list, posts.map((p) => p.key), made!.id],
        );
        return {
          number,
          posts: posts.map((p) => pendingName(p.arrived, p.key)),
          date: date.toISOString(),
        };
      });
      if (!issue) await this.unlock();
      if (!issue) return undefined;
      const { id: _id, ...out } = issue as DigestIssue & { id?: number };
      return out;
    } catch (error) {
      await this.unlock();
      throw error;
    }
  }

  async postBytes(issue: DigestIssue): Promise<Buffer[]> {
    const keys = issue.posts.map(keyOfName);
    const rows = await this.db.query<{ key: string; bytes: Buffer | null }>(
      'SELECT key, bytes FROM malist_digest_posts WHERE list = $1 AND key = ANY($2)',
      [this.list, keys],
    );
    const byKey = new Map(rows.map((r) => [r.key, r.bytes]));
    return keys.flatMap((k) => {
      const bytes = byKey.get(k);
      return bytes ? [bytes] : [];
    });
  }

  /** Our claim's lock is still held by its session, as the server sees it (see module comment). */
  private async holds(sql: Sql): Promise<boolean> {
    const lock = this.held().get(this.list);
    if (!lock || lock.lost()) return false;
    // The flag turns on only when the client hears of the cut; the server knows at once.
    const [row] = await sql.query<{ held: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
          AND classid = $1::oid AND objid = $2::oid AND objsubid = 2 AND pid = $3) AS held`,
      [DIGEST_LOCK, lock.id >>> 0, lock.backend],
    );
    return row?.held === true;
  }

  async stillClaimed(_issue: DigestIssue): Promise<boolean> {
    return this.holds(this.db);
  }

  async finish(issue: DigestIssue): Promise<void> {
    try {
      await this.db.transaction(async (sql) => {
        // A claim lost mid-send: the process that took the issue over sends it and closes it
        // (under the same key, so the journal lets each recipient have it once); closing it
        // here could drop the posts' bytes under that process's feet.
        if (!(await this.holds(sql)))
          throw new DigestClaimLost(this.list, issue.number, 'not marked sent');
        const [row] = await sql.query<{ id: number }>(
          `UPDATE malist_digest_issues SET state = 'sent'
           WHERE list = $1 AND volume = $2 AND issue = $3 AND state = 'open' RETURNING id`,
          [this.list, issue.number.volume, issue.number.issue],
        );
        if (row)
          await sql.query(
            'UPDATE malist_digest_posts SET bytes = NULL, sent_at = now() WHERE list = $1 AND issue = $2',
            [this.list, row.id],
          );
        await sql.query(
          `DELETE FROM malist_digest_posts WHERE list = $1 AND sent_at < now() - interval '${KEEP_SENT}'`,
          [this.list],
        );
      });
    } finally {
      await this.unlock();
    }
  }

  async mergeLast(number: DigestNumber): Promise<boolean> {
    if (!laterIssue(number, await this.last())) return false;
    // A sent issue without posts: what the next number counts from.
    const rows = await this.db.query(
      `INSERT INTO malist_digest_issues (list, volume, issue, year, date, state)
       VALUES ($1, $2, $3, $4, $5, 'sent') ON CONFLICT DO NOTHING RETURNING id`,
      [this.list, number.volume, number.issue, number.year, new Date().toISOString()],
    );
    return rows.length === 1;
  }

  async release(_issue: DigestIssue): Promise<void> {
    await this.unlock();
  }
}
