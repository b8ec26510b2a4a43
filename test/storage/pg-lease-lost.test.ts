/**
 * A lease lost while its process lives (a network cut; here the operator's
 * `pg_terminate_backend` of the lease's session, found by its lock in pg_locks): the holder
 * stops at once. A queue worker fanning a post out sends nobody more of its claim (the
 * round checks the lease before each transaction: a flag the connection's error/end event
 * sets) while another worker takes the claim over; counted at the SMTP server, nobody gets
 * the post twice but a reply in flight at the cut. The journal refuses to record (and so
 * the loop to ack) a mail whose claim was taken under the lost lease.
 */
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/state/pg.ts';
import { ClaimLost, PgJournal } from '../../src/state/pg-journal.ts';
import { HOLDER_SPACE, processLease } from '../../src/state/pg-lock.ts';
import { finishPost, pgAndSmtp, pgQueueWorker } from '../helpers/pg-queue-worker.ts';
import { postgresAvailable } from '../helpers/postgres.ts';
import { until } from '../helpers/until.ts';
import { testMessage } from '../smtp/fixtures.ts';

const available = postgresAvailable();

describe.skipIf(!available)('a lease lost while the process lives', () => {
  // Each RCPT answered after 5 ms: a fan-out is well under way when the test cuts it.
  const servers = pgAndSmtp({ rcptDelayMs: 5 });

  /** Kills the session holding holder `id`'s lock, as a network cut would end it. */
  const cut = (database: string, id: number) =>
    servers.pg.psql(
      `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'
          AND classid = ${HOLDER_SPACE} AND objid = ${id} AND objsubid = 2`,
      database,
    );

  it('a queue worker cut off mid-fan-out sends nobody more; the worker that takes over sends the rest, each once', async () => {
    const name = 'lease_lost_queue';
    const url = await servers.pg.createDatabase(name);
    const token = `lease-lost-${Date.now()}`;
    const messageId = `${token}@example.com`;
    const recipients = Array.from(
      { length: 600 },
      (_, i) => `m${String(i).padStart(4, '0')}@cut.test`,
    );
    // Each worker: its own pool (its own sessions, as another process has), its own lease.
    const a = await pgQueueWorker(url, servers.server.port);
    const b = await pgQueueWorker(url, servers.server.port);
    try {
      await a.queue.enqueue({
        id: token,
        raw: testMessage(token),
        sender: 'red-bounces@list.example.test',
        recipients,
      });
      const sent = () => recipients.reduce((n, r) => n + servers.server.count(r, messageId), 0);
      // A claims the whole post (one batch) and starts sending.
      const aRun = a.queue.run();
      await until('worker A to be well into the fan-out', () => sent() >= 60);
      const holder = a.store.workerId() as number;
      cut(name, holder);
      // B takes the rest: A's claim found stale (its lock is free) and taken over, or the
      // rows A gave back when it abandoned the claim, whichever comes first.
      const reclaimed = await finishPost(b);
      const aSummary = await aRun;
      const counts = recipients.map((r) => servers.server.count(r, messageId));
      const twice = counts.filter((c) => c > 1).length;
      process.stdout.write(
        `lease cut mid-fan-out: ${recipients.length} members, ${sent()} copies accepted, ${counts.filter((c) => c === 0).length} lost, ${twice} twice (A had 2 connections), ${reclaimed} claim(s) taken over\n`,
      );
      // A abandoned its claim, saying why.
      expect(aSummary.errors.map(String).join('\n')).toMatch(/lost its claim/);
      expect(counts.filter((c) => c === 0)).toHaveLength(0);
      // Only a reply in flight at the cut: one transaction per connection of A.
      expect(twice).toBeLessThanOrEqual(2);
      expect(
        servers.pg.psql("SELECT count(*) FROM queue_sent WHERE status = 'delivered'", name).trim(),
      ).toBe(String(recipients.length));
    } finally {
      await a.queue.close();
      await b.queue.close();
      await Promise.all([a.db.close(), b.db.close()]);
    }
  }, 180_000);

  it('the journal refuses to record a mail whose claim was taken under a lost lease', async () => {
    const name = 'lease_lost_journal';
    const url = await servers.pg.createDatabase(name);
    const [dbA, dbB] = await Promise.all([openDatabase(url), openDatabase(url)]);
    const leaseA = processLease(dbA);
    const a = await PgJournal.open(dbA, leaseA);
    const b = await PgJournal.open(dbB);
    try {
      const claimA = await a.claim('_mail', 'cut-key');
      const holder = leaseA.current as NonNullable<typeof leaseA.current>;
      cut(name, holder.id);
      await until("A to see its lease's connection end", () => holder.lost());
      // B takes the claim over at once (A's lock is free), handles and records the mail.
      const claimB = await b.claim('_mail', 'cut-key', { waitMs: 30_000 });
      await expect(
        a.record('_mail', 'cut-key', { outcome: 'distributed', messageId: '<x@y>' }),
      ).rejects.toBeInstanceOf(ClaimLost);
      await b.record('_mail', 'cut-key', { outcome: 'distributed', messageId: '<x@y>' });
      await claimB.release();
      await claimA.release();
      expect((await b.get('_mail', 'cut-key'))?.outcome).toBe('distributed');
      // A's next claim is under a new holder number: it works again.
      const again = await a.claim('_mail', 'other-key');
      expect(leaseA.current?.id).not.toBe(holder.id);
      await again.release();
    } finally {
      await a.close();
      await leaseA.end();
      await b.close();
      await dbA.close();
      await dbB.close();
    }
  }, 120_000);
});
