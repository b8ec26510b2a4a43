/**
 * A digest sender whose claim's session is cut mid-send (here the operator's
 * `pg_terminate_backend` of the session holding the list's digest lock, as a network cut or
 * a server restart would end it) while its process lives: it sends nothing more and does
 * not mark the issue sent; the host that takes the claim over sends the issue — counted at
 * the distributor, once — and closes it. Two hosts: two pools on one database, as two
 * processes have.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgDigestStore } from '../../src/digest/pg-store.ts';
import { sendDigest } from '../../src/digest/send.ts';
import { DigestClaimLost } from '../../src/digest/store.ts';
import type { ListSettings } from '../../src/list/settings.ts';
import createMemoryMemberStore from '../../src/members/memory.ts';
import type { MemberStore } from '../../src/members/store.ts';
import { type Database, openDatabase } from '../../src/state/pg.ts';
import type { Distributor, ListMail } from '../../src/types.ts';
import { type Postgres, postgresAvailable, startPostgres } from '../helpers/postgres.ts';
import { until } from '../helpers/until.ts';

const available = postgresAvailable();
const LIST: ListSettings = {
  name: 'red',
  address: 'red@list.example',
  display_name: 'Red',
  members: [],
};
const DIGEST_MEMBERS = ['ann@example.org', 'bob@example.org'];
const T0 = Date.UTC(2026, 11, 5, 9);
const post = (n: number) =>
  Buffer.from(
    `From: p@example.net\r\nSubject: post ${n}\r\nMessage-ID: <p${n}@x>\r\n\r\nbody ${n}\r\n`,
  );

describe.skipIf(!available)('the digest after a lost session', () => {
  let pg: Postgres;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 120_000);
  afterAll(() => pg?.stop());

  const locks = (database: string) =>
    Number(
      pg
        .psql(
          `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database =
             (SELECT oid FROM pg_database WHERE datname = current_database())`,
          database,
        )
        .trim(),
    );
  /** Ends the session holding the list's digest lock, and waits until the server let it go. */
  const cut = async (database: string) => {
    pg.psql(
      `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      database,
    );
    await until('the digest lock free', () => locks(database) === 0);
  };

  /** Two hosts' stores on `database`, a distributor counting what each sends, and cleanup. */
  const hosts = async (database: string) => {
    const url = await pg.createDatabase(database);
    const dbs: Database[] = await Promise.all([openDatabase(url), openDatabase(url)]);
    const [a, b] = await Promise.all(dbs.map((db) => PgDigestStore.open(db, 'red')));
    const sent: { host: string; mail: ListMail }[] = [];
    const distributor = (host: string, during?: () => Promise<void>): Distributor => ({
      name: `count-${host}`,
      async distribute(mail) {
        await during?.();
        sent.push({ host, mail });
        const results = (mail.ml_send_to ?? []).map((recipient) => ({
          recipient,
          status: 'delivered' as const,
          distributor: `count-${host}`,
        }));
        return { results };
      },
    });
    const members = createMemoryMemberStore({
      members: DIGEST_MEMBERS.map((address) => ({ address, digest: true })),
    });
    await a!.add('k1', post(1), T0);
    await a!.add('k2', post(2), T0 + 1);
    return {
      a: a!,
      b: b!,
      sent,
      distributor,
      members,
      end: () => Promise.all(dbs.map((db) => db.close())),
    };
  };

  it('cut before the send: the sender sends nothing; the host that takes over sends the issue once', async () => {
    const name = 'digest_cut_before';
    const { a, b, sent, distributor, members, end } = await hosts(name);
    try {
      // A claims the issue; its session is cut while it reads the members, before the send.
      const cutting: MemberStore = {
        ...members,
        list: async () => {
          await cut(name);
          return members.list();
        },
      };
      await expect(
        sendDigest({
          list: LIST,
          store: a,
          members: cutting,
          distributor: distributor('A'),
          now: new Date(T0 + 2),
        }),
      ).rejects.toBeInstanceOf(DigestClaimLost);
      expect(sent).toHaveLength(0);
      expect((await b.openIssue())?.number.issue).toBe(1);
      const out = await sendDigest({
        list: LIST,
        store: b,
        members,
        distributor: distributor('B'),
        now: new Date(T0 + 3),
      });
      expect(out?.number).toEqual({ volume: 1, issue: 1, year: 2026 });
      expect(sent.map((s) => [s.host, s.mail.ml_send_to])).toEqual([['B', DIGEST_MEMBERS]]);
      expect(await b.last()).toEqual({ volume: 1, issue: 1, year: 2026 });
      expect(await b.openIssue()).toBeUndefined();
      // Nothing more to send, by either host.
      expect(
        await sendDigest({ list: LIST, store: a, members, distributor: distributor('A') }),
      ).toBeUndefined();
      expect(sent).toHaveLength(1);
      expect(pg.psql("SELECT count(*) FROM malist_digest_issues WHERE state = 'sent'", name)).toBe(
        '1\n',
      );
    } finally {
      await end();
    }
  }, 120_000);

  it('cut during the send: the sender does not mark it sent; the taker-over resends it under the same key', async () => {
    const name = 'digest_cut_during';
    const { a, b, sent, distributor, members, end } = await hosts(name);
    try {
      await expect(
        sendDigest({
          list: LIST,
          store: a,
          members,
          distributor: distributor('A', () => cut(name)),
          now: new Date(T0 + 2),
        }),
      ).rejects.toBeInstanceOf(DigestClaimLost);
      // A's send was in flight at the cut; the issue stays open for the host that takes over.
      expect(sent.map((s) => s.host)).toEqual(['A']);
      expect(pg.psql("SELECT count(*) FROM malist_digest_issues WHERE state = 'open'", name)).toBe(
        '1\n',
      );
      const out = await sendDigest({
        list: LIST,
        store: b,
        members,
        distributor: distributor('B'),
        now: new Date(T0 + 3),
      });
      expect(out?.number.issue).toBe(1);
      // The same mail (the key derives from the list and the issue's number): the journal
      // in front of the distributor (`malist digest`) lets each member have it once.
      expect(sent.map((s) => s.host)).toEqual(['A', 'B']);
      expect(sent[1]!.mail.key).toBe(sent[0]!.mail.key);
      expect(await b.openIssue()).toBeUndefined();
      expect(pg.psql("SELECT count(*) FROM malist_digest_issues WHERE state = 'sent'", name)).toBe(
        '1\n',
      );
    } finally {
      await end();
    }
  }, 120_000);
});
