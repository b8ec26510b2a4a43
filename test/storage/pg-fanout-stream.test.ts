/**
 * A post to a 50,000-member list on PostgreSQL, streamed: the members read a page at a
 * time (`memberPages`), each page's recipients written as it comes (`Queue.enqueue`'s
 * `more`). Every deliverable member is enqueued exactly once, with the exclusions the
 * envelope processor makes (nomail, digest-only, the notmetoo poster), and the envelope
 * processor itself (now reading pages) names the same recipients.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createListMail } from '../../src/mail/list-mail.ts';
import createPostgresMemberStore from '../../src/members/pg-store.ts';
import type { Member } from '../../src/members/store.ts';
import createEnvelope, {
  postRecipients,
  storeRecipientPages,
} from '../../src/processors/envelope.ts';
import { createPgStore } from '../../src/queue/pg-store.ts';
import { createQueue } from '../../src/queue/queue.ts';
import { type Database, openDatabase } from '../../src/state/pg.ts';
import { type Postgres, postgresAvailable, startPostgres } from '../helpers/postgres.ts';

const available = postgresAvailable();
const SIZE = 50_000;

/** Member i: every 10th nomail, every 7th digest-only, every 13th notmetoo. */
function member(i: number): Member {
  return {
    address: i % 1000 === 5 ? `Member${i}@Example${i % 97}.ORG` : `member${i}@example${i % 97}.org`,
    ...(i % 10 === 0 ? { nomail: true, nomail_reason: 'bounce' as const } : {}),
    ...(i % 7 === 0 ? { digest: true } : {}),
    ...(i % 13 === 0 ? { notmetoo: true } : {}),
  };
}

describe.skipIf(!available)('a 50,000-member post on PostgreSQL, streamed', () => {
  let pg: Postgres;
  let db: Database;
  beforeAll(async () => {
    pg = await startPostgres();
    db = await openDatabase(await pg.createDatabase('fanout'));
  }, 120_000);
  afterAll(async () => {
    await db?.close();
    pg?.stop();
  });

  it('enqueues every deliverable member once, with the envelope processor’s exclusions', async () => {
    const members = createPostgresMemberStore({ list: 'big', database: async () => db });
    const all = Array.from({ length: SIZE }, (_, i) => member(i));
    for (let from = 0; from < SIZE; from += 10_000)
      await members.addMany!(all.slice(from, from + 10_000));
    // The poster: member 26 (notmetoo: gets no copy of their own post); 39 is notmetoo too
    // but did not post, and gets one.
    const mail = createListMail(
      Buffer.from('From: Poster <MEMBER26@example26.org>\nSubject: to all\n\nbody\n'),
      { fetcher: 't', id: 'big-1' },
    );
    const expected = postRecipients(all, mail);
    expect(expected).not.toContain('member26@example26.org');
    expect(expected).toContain('member39@example39.org');
    expect(expected.length).toBeGreaterThan(30_000);

    // The envelope processor (reading pages) names exactly these, in stored order.
    const unit = createEnvelope({
      name: 'big',
      address: 'big@list.example.com',
      members: [],
      member_store: members,
    });
    const processed = await unit.process(createListMail(mail.raw, { fetcher: 't', id: 'big-2' }));
    expect((processed as { ml_send_to: string[] }).ml_send_to).toEqual(expected);

    // Streamed into the queue: pages of 3,000 (a page boundary inside the insert's slices).
    const queue = createQueue(
      { dir: '/nonexistent', deliver_now: false },
      {
        store: createPgStore(db),
        transport: { name: 'none', send: async () => [], close: async () => {} },
      },
    );
    try {
      const input = {
        id: 'big-post',
        raw: Buffer.from('From: MEMBER26@example26.org\r\nSubject: to all\r\n\r\nbody\r\n'),
        sender: 'big-bounces@list.example.com',
        // An address given up front and again in a page is one recipient.
        recipients: ['member1@example1.org'],
        list: 'big',
      };
      const first = await queue.enqueue({
        ...input,
        more: storeRecipientPages(members, mail, 3_000),
      });
      expect(first.outcome.status).toBe('queued');
      expect(first.results).toEqual([]);
      // The same ID again is the same entry: nothing is written twice.
      const again = await queue.enqueue({
        ...input,
        more: storeRecipientPages(members, mail, 3_000),
      });
      expect(again.outcome.status).toBe('exists');

      const rows = await db.query<{ address: string; n: number; state: string }>(
        'SELECT address, n, state FROM queue_recipients WHERE entry_id = $1 ORDER BY n',
        ['big-post'],
      );
      const want = [
        'member1@example1.org',
        ...expected.filter((a) => a !== 'member1@example1.org'),
      ];
      expect(rows.map((r) => r.address)).toEqual(want);
      expect(new Set(rows.map((r) => r.address.toLowerCase())).size).toBe(rows.length);
      // In order; the number of the second member1 row (in the first page) is left unused.
      for (let i = 1; i < rows.length; i++) expect(rows[i]!.n).toBeGreaterThan(rows[i - 1]!.n);
      expect(rows.every((r) => r.state === 'pending')).toBe(true);
    } finally {
      await queue.close();
    }
  }, 300_000);
});
