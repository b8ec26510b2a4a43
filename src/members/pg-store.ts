/**
 * `member_store: postgres` — a list's members as rows in PostgreSQL (`storage: {type:
 * postgres}` in malist.yaml), so workers on several hosts, the web front and `malist
 * members` share one membership. The list's YAML file stays its configuration; only the
 * members (address as subscribed, display name, options) live here.
 *
 * A row per (list, normal address): the primary key makes every change idempotent and
 * atomic across processes (INSERT … ON CONFLICT DO NOTHING, DELETE, UPDATE), without the
 * file stores' lock. Stored order is the order of subscription (`position`). Each change
 * bumps the list's revision in the same transaction, so readers that keep a snapshot
 * (src/members/snapshot.ts) read the members again only after a change.
 */
import { normalizeAddress } from '../mail/address.ts';
import { type Database, requireSchema, type SchemaPart, type Sql } from '../state/pg.ts';
import {
  type Member,
  type MemberChanges,
  type MemberStore,
  patchMember,
  requireAddress,
  tidyMember,
} from './store.ts';

export const MEMBERS_SCHEMA: SchemaPart = {
  name: 'members',
  migrations: [
    `CREATE TABLE malist_members (
       list text NOT NULL,
       normal text NOT NULL,
       member jsonb NOT NULL,
       position bigserial NOT NULL,
       PRIMARY KEY (list, normal)
     );
     CREATE INDEX malist_members_order ON malist_members (list, position);
     CREATE TABLE malist_member_revisions (
       list text PRIMARY KEY,
       revision bigint NOT NULL
     );`,
  ],
};

export interface PostgresMemberStoreOptions {
  /** The list's short name (its YAML file's name): the rows' key. */
  list: string;
  /** The process's database (opened on first use; `src/config/` hands it over). */
  database: () => Promise<Database>;
}

/** Bumps the list's revision (inside the change's transaction). */
async function bump(sql: Sql, list: string): Promise<void> {
  await sql.query(
    `INSERT INTO malist_member_revisions (list, revision) VALUES ($1, 1)
     ON CONFLICT (list) DO UPDATE SET revision = malist_member_revisions.revision + 1`,
    [list],
  );
}

/** Inserts `members` in order; returns those that were not there yet. */
async function insertMembers(sql: Sql, list: string, members: Member[]): Promise<Member[]> {
  if (members.length === 0) return [];
  const tidy = members.map(tidyMember);
  const rows = await sql.query<{ member: Member }>(
    `INSERT INTO malist_members (list, normal, member)
     SELECT $1, n, m FROM unnest($2::text[], $3::jsonb[]) WITH ORDINALITY AS t(n, m, i) ORDER BY i
     ON CONFLICT (list, normal) DO NOTHING RETURNING member, position`,
    [list, tidy.map((m) => normalizeAddress(m.address)), tidy.map((m) => JSON.stringify(m))],
  );
  return rows.map((r) => tidyMember(r.member));
}

/** The members to store for `changes.change`: the stored address kept, only what differs. */
async function changedMembers(sql: Sql, list: string, change: Member[]) {
  if (change.length === 0) return [];
  const normals = change.map((m) => normalizeAddress(m.address));
  const rows = await sql.query<{ normal: string; member: Member }>(
    'SELECT normal, member FROM malist_members WHERE list = $1 AND normal = ANY($2) FOR UPDATE',
    [list, normals],
  );
  const stored = new Map(rows.map((r) => [r.normal, r.member]));
  const out = new Map<string, Member>();
  change.forEach((m, i) => {
    const current = stored.get(normals[i]!);
    if (!current) return;
    const next = tidyMember({ ...m, address: current.address });
    // jsonb keeps its keys in its own order: compare the tidy shapes.
    if (JSON.stringify(next) !== JSON.stringify(tidyMember(current))) out.set(normals[i]!, next);
  });
  return [...out];
}

/** The PostgreSQL member store of one list. */
export default function createPostgresMemberStore(
  options: PostgresMemberStoreOptions,
): MemberStore {
  const { list } = options;
  let opened: Promise<Database> | undefined;
  const db = () => {
    opened ??= options.database().then(async (d) => {
      await requireSchema(d, MEMBERS_SCHEMA);
      return d;
    });
    opened.catch(() => {
      opened = undefined;
    });
    return opened;
  };
  const change = async <T>(fn: (sql: Sql) => Promise<{ result: T; changed: boolean }>) =>
    (await db()).transaction(async (sql) => {
      const { result, changed } = await fn(sql);
      if (changed) await bump(sql, list);
      return result;
    });
  return {
    name: 'postgres',
    async list() {
      const rows = await (await db()).query<{ member: Member }>(
        'SELECT member FROM malist_members WHERE list = $1 ORDER BY position',
        [list],
      );
      return rows.map((r) => tidyMember(r.member));
    },
    async *pages(size) {
      // Keyset on the stored order: each page one indexed range read, however deep.
      let after = 0;
      for (;;) {
        const rows = await (await db()).query<{ member: Member; position: string }>(
          `SELECT member, position FROM malist_members WHERE list = $1 AND position > $2
            ORDER BY position LIMIT $3`,
          [list, after, size],
        );
        if (rows.length === 0) return;
        after = Number(rows[rows.length - 1]!.position);
        yield rows.map((r) => tidyMember(r.member));
        if (rows.length < size) return;
      }
    },
    async get(address) {
      const rows = await (await db()).query<{ member: Member }>(
        'SELECT member FROM malist_members WHERE list = $1 AND normal = $2',
        [list, normalizeAddress(address)],
      );
      return rows[0] ? tidyMember(rows[0].member) : undefined;
    },
    async revision() {
      const rows = await (await db()).query<{ revision: number }>(
        'SELECT revision FROM malist_member_revisions WHERE list = $1',
        [list],
      );
      return String(rows[0]?.revision ?? 0);
    },
    async add(member) {
      requireAddress(member.address);
      return change(async (sql) => {
        const added = await insertMembers(sql, list, [member]);
        return { result: added.length > 0 ? 'added' : 'exists', changed: added.length > 0 };
      });
    },
    async addMany(members) {
      for (const m of members) requireAddress(m.address);
      return change(async (sql) => {
        const added = await insertMembers(sql, list, members);
        return { result: added, changed: added.length > 0 };
      });
    },
    async applyMany(changes: MemberChanges) {
      for (const m of changes.add) requireAddress(m.address);
      return change(async (sql) => {
        const replaced = await changedMembers(sql, list, changes.change);
        for (const [normal, member] of replaced)
          await sql.query('UPDATE malist_members SET member = $3 WHERE list = $1 AND normal = $2', [
            list,
            normal,
            JSON.stringify(member),
          ]);
        const removed = await sql.query(
          'DELETE FROM malist_members WHERE list = $1 AND normal = ANY($2) RETURNING normal',
          [list, changes.remove.map((m) => normalizeAddress(m.address))],
        );
        const added = await insertMembers(sql, list, changes.add);
        const done = { added: added.length, removed: removed.length, changed: replaced.length };
        return { result: done, changed: done.added + done.removed + done.changed > 0 };
      });
    },
    async remove(address) {
      return change(async (sql) => {
        const rows = await sql.query(
          'DELETE FROM malist_members WHERE list = $1 AND normal = $2 RETURNING normal',
          [list, normalizeAddress(address)],
        );
        return { result: rows.length > 0, changed: rows.length > 0 };
      });
    },
    async update(address, patch) {
      return change(async (sql) => {
        const normal = normalizeAddress(address);
        const [row] = await sql.query<{ member: Member }>(
          'SELECT member FROM malist_members WHERE list = $1 AND normal = $2 FOR UPDATE',
          [list, normal],
        );
        if (!row) return { result: undefined, changed: false };
        const next = patchMember(row.member, patch);
        if (JSON.stringify(next) === JSON.stringify(tidyMember(row.member)))
          return { result: next, changed: false };
        await sql.query('UPDATE malist_members SET member = $3 WHERE list = $1 AND normal = $2', [
          list,
          normal,
          JSON.stringify(next),
        ]);
        return { result: next, changed: true };
      });
    },
  };
}
