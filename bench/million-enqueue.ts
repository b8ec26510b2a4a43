/**
 * A post's fan-out setup on a big list, in its own process (bench/pg-million.ts runs it
 * under time(1) for peak RSS): the list's members read from their store, then one queue
 * entry naming every member written (deliver_now off: setting up, not sending). `mode`:
 *
 *   - `list`: every member read at once (`list()`), an array of every address enqueued
 *     (how it was before streaming: the reference row);
 *   - `array`: what a post through the envelope processor does now: the members read a
 *     page at a time and only the addresses kept (`storeRecipients`), that array enqueued
 *     (on PostgreSQL its records made and written a slice at a time);
 *   - `stream`: pages all the way: `storeRecipientPages` into `enqueue`'s `more`, each
 *     page written as it comes (the file spool gathers them into its envelope file);
 *   - `sql` (PostgreSQL only, a measure, not malist's path): the recipient rows made by one
 *     `INSERT … SELECT` from the members table inside the entry's transaction, so no member
 *     crosses into Node (the nomail/digest choice in SQL; the poster is no member here).
 *
 * `node --import tsx bench/million-enqueue.ts '{"backend":"files"|"postgres","config":DIR,"url":…,"mode":…}'`
 * Prints one JSON line: recipients, ms to read the members, ms to enqueue (in `stream`
 * mode the reading is inside the enqueue).
 */
import { join } from 'node:path';
import { createListMail } from '../src/mail/list-mail.ts';
import createPostgresMemberStore from '../src/members/pg-store.ts';
import createTextMemberStore from '../src/members/text-file.ts';
import { storeRecipientPages, storeRecipients } from '../src/processors/envelope.ts';
import { createFileStore } from '../src/queue/file-store.ts';
import { createPgStore } from '../src/queue/pg-store.ts';
import { createQueue, type EnqueueInput } from '../src/queue/queue.ts';
import { openDatabase } from '../src/state/pg.ts';

const input = JSON.parse(process.argv[2] ?? '{}') as {
  backend: 'files' | 'postgres';
  config: string;
  url?: string;
  mode?: 'list' | 'array' | 'stream' | 'sql';
};
const mode = input.mode ?? 'stream';
if (mode === 'sql' && input.backend !== 'postgres') throw new Error('mode sql is PostgreSQL only');
const db = input.backend === 'postgres' ? await openDatabase(input.url as string) : undefined;
const members = db
  ? createPostgresMemberStore({ list: 'big', database: async () => db })
  : createTextMemberStore({ file: join(input.config, 'lists', 'big.members') });
const store = db ? createPgStore(db) : createFileStore(join(input.config, 'spool'));
const queue = createQueue(
  { dir: join(input.config, 'spool'), deliver_now: false },
  { store, transport: { name: 'none', send: async () => [], close: async () => {} } },
);
const raw = Buffer.from(
  `From: poster@example.test\r\nTo: big@list.example.com\r\nSubject: to everyone\r\nMessage-ID: <million@example.test>\r\n\r\n${'x'.repeat(5 * 1024)}\r\n`,
);
const mail = createListMail(raw, { fetcher: 'bench', id: 'million' });
let streamed = 0;
async function* counted(pages: AsyncIterable<string[]>) {
  for await (const page of pages) {
    streamed += page.length;
    yield page;
  }
}
const t0 = performance.now();
let recipients: string[] = [];
if (mode === 'list')
  recipients = (await members.list()).filter((m) => !m.nomail).map((m) => m.address);
if (mode === 'array') recipients = await storeRecipients(members, mail);
const t1 = performance.now();
const entry: EnqueueInput = {
  id: `million-${Date.now()}`,
  raw,
  sender: 'big-bounces@list.example.com',
  recipients,
  list: 'big',
  ...(mode === 'stream' ? { more: counted(storeRecipientPages(members, mail)) } : {}),
};
const outcome =
  mode === 'sql' && db
    ? { outcome: { status: (await insertSelect(entry.id)) ? 'queued' : 'exists' } }
    : await queue.enqueue(entry);
const t2 = performance.now();
await queue.close();
await db?.close();
/** The entry and its rows from the members table, in one transaction (mode `sql`). */
async function insertSelect(id: string): Promise<boolean> {
  await queue.store.ready();
  return (db as NonNullable<typeof db>).transaction(async (tx) => {
    await tx.query(
      `INSERT INTO queue_entries (id, list, sender, created, rounds, message, queue)
       VALUES ($1, 'big', 'big-bounces@list.example.com', $2, 0, $3, 'queue')`,
      [id, Date.now(), raw],
    );
    const [row] = await tx.query<{ n: string }>(
      `WITH made AS (
         INSERT INTO queue_recipients (entry_id, n, address, state, attempts, next_attempt)
         SELECT $1, row_number() OVER (ORDER BY position), member->>'address', 'pending', 0, $2
           FROM malist_members
          WHERE list = 'big' AND member->'nomail' IS NULL AND member->'digest' IS NULL
         RETURNING 1)
       SELECT count(*) AS n FROM made`,
      [id, Date.now()],
    );
    streamed = Number(row?.n);
    return true;
  });
}
process.stdout.write(
  `${JSON.stringify({ mode, members: recipients.length || streamed, readMs: Math.round(t1 - t0), enqueueMs: Math.round(t2 - t1), status: outcome.outcome.status })}\n`,
);
