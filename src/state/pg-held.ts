/**
 * Held posts and moderators' decisions on PostgreSQL (`storage: {type: postgres}`): a post
 * held by `malist receive` on one host is listed, shown and decided from any other.
 *
 * `malist_held` keeps a row per (list, id): the bytes as fetched (bytea), the meta (jsonb)
 * and a state, `held` or `done` — moving a decided post to *done* is one UPDATE.
 * `malist_decisions` keeps a row per (list, held id): `INSERT … ON CONFLICT DO NOTHING`
 * then reading the row back makes the first decision win across processes and hosts,
 * so a post is released once whoever asks again.
 */

import type { ListMail } from '../types.ts';
import type { Decision, HeldStorage, HeldStore } from './held-store.ts';
import { type StoredMeta, type StoreWhy, storedMeta } from './mail-store.ts';
import { type Database, requireSchema, type SchemaPart } from './pg.ts';
import { safeName } from './safe-name.ts';

export const HELD_SCHEMA: SchemaPart = {
  name: 'held',
  migrations: [
    `CREATE TABLE malist_held (
       list text NOT NULL,
       id text NOT NULL,
       state text NOT NULL CHECK (state IN ('held', 'done')),
       raw bytea NOT NULL,
       meta jsonb NOT NULL,
       PRIMARY KEY (list, id)
     );
     CREATE INDEX malist_held_state ON malist_held (list, state, id);
     CREATE TABLE malist_decisions (
       list text NOT NULL,
       held_id text NOT NULL,
       decision jsonb NOT NULL,
       request text,
       PRIMARY KEY (list, held_id)
     );
     CREATE TABLE malist_decision_requests (
       list text NOT NULL,
       request text NOT NULL,
       held_id text NOT NULL,
       PRIMARY KEY (list, request, held_id)
     );`,
  ],
};

type State = 'held' | 'done';

class PgHeldStore implements HeldStore {
  constructor(
    private readonly db: Database,
    private readonly listName: string,
    private readonly state: State,
  ) {}

  async put(mail: ListMail, why: StoreWhy): Promise<StoredMeta> {
    const meta = storedMeta(mail, why);
    await this.restore(mail.raw, meta);
    return meta;
  }

  async restore(raw: Buffer, meta: StoredMeta): Promise<void> {
    // Holding again what is decided already (a replay) leaves the decided post alone;
    // moving to done overwrites the held row.
    await this.db.query(
      `INSERT INTO malist_held (list, id, state, raw, meta) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (list, id) DO UPDATE SET state = EXCLUDED.state, raw = EXCLUDED.raw, meta = EXCLUDED.meta
       WHERE malist_held.state = 'held' OR EXCLUDED.state = 'done'`,
      [this.listName, safeName(meta.id), this.state, raw, JSON.stringify(meta)],
    );
  }

  async list(): Promise<StoredMeta[]> {
    const rows = await this.db.query<{ meta: StoredMeta }>(
      'SELECT meta FROM malist_held WHERE list = $1 AND state = $2 ORDER BY id',
      [this.listName, this.state],
    );
    return rows.map((r) => r.meta);
  }

  async read(id: string): Promise<{ raw: Buffer; meta: StoredMeta }> {
    const rows = await this.db.query<{ raw: Buffer; meta: StoredMeta }>(
      'SELECT raw, meta FROM malist_held WHERE list = $1 AND id = $2 AND state = $3',
      [this.listName, safeName(id), this.state],
    );
    const row = rows[0];
    if (!row) throw new Error(`no ${this.state} post ${id} of list ${this.listName}`);
    return row;
  }

  async remove(id: string): Promise<void> {
    await this.db.query('DELETE FROM malist_held WHERE list = $1 AND id = $2 AND state = $3', [
      this.listName,
      safeName(id),
      this.state,
    ]);
  }
}

/** Held mail and decisions on `db`, the tables created on a fresh database (else checked). */
export async function pgHeldStorage(db: Database): Promise<HeldStorage> {
  await requireSchema(db, HELD_SCHEMA);
  const storage: HeldStorage = {
    held: (list) => new PgHeldStore(db, list, 'held'),
    done: (list) => new PgHeldStore(db, list, 'done'),
    async decision(list, heldId) {
      const rows = await db.query<{ decision: Decision }>(
        'SELECT decision FROM malist_decisions WHERE list = $1 AND held_id = $2',
        [list, heldId],
      );
      return rows[0]?.decision;
    },
    async claim(list, decision) {
      if (decision.request)
        await db.query(
          'INSERT INTO malist_decision_requests (list, request, held_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
          [list, decision.request, decision.heldId],
        );
      const won = await db.query(
        'INSERT INTO malist_decisions (list, held_id, decision, request) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING held_id',
        [list, decision.heldId, JSON.stringify(decision), decision.request ?? null],
      );
      if (won.length === 1) return { decision, won: true };
      return { decision: (await storage.decision(list, decision.heldId)) ?? decision, won: false };
    },
    async decidedBy(list, request) {
      const rows = await db.query<{ held_id: string }>(
        'SELECT held_id FROM malist_decision_requests WHERE list = $1 AND request = $2 ORDER BY held_id',
        [list, request],
      );
      return rows.map((r) => r.held_id);
    },
    async decisions(list) {
      const rows = await db.query<{ decision: Decision }>(
        'SELECT decision FROM malist_decisions WHERE list = $1 ORDER BY held_id',
        [list],
      );
      return rows.map((r) => r.decision);
    },
    requests: (list) =>
      db.query<{ request: string; heldId: string }>(
        'SELECT request, held_id AS "heldId" FROM malist_decision_requests WHERE list = $1 ORDER BY request, held_id',
        [list],
      ),
  };
  return storage;
}
