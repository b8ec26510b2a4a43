/**
 * A post's fan-out setup on a big list, in its own process (bench/pg-million.ts runs it
 * under time(1) for peak RSS): the list's members read from their store, then one queue
 * entry naming every member written (deliver_now off: setting up, not sending).
 * `node --import tsx bench/million-enqueue.ts '{"backend":"files"|"postgres","config":DIR,"url":…}'`
 * Prints one JSON line: members read, ms to read them, ms to enqueue.
 */
import { join } from 'node:path';
import createPostgresMemberStore from '../src/members/pg-store.ts';
import createTextMemberStore from '../src/members/text-file.ts';
import { createFileStore } from '../src/queue/file-store.ts';
import { createPgStore } from '../src/queue/pg-store.ts';
import { createQueue } from '../src/queue/queue.ts';
import { openDatabase } from '../src/state/pg.ts';

const input = JSON.parse(process.argv[2] ?? '{}') as {
  backend: 'files' | 'postgres';
  config: string;
  url?: string;
};
const db = input.backend === 'postgres' ? await openDatabase(input.url as string) : undefined;
const members = db
  ? createPostgresMemberStore({ list: 'big', database: async () => db })
  : createTextMemberStore({ file: join(input.config, 'lists', 'big.members') });
const store = db ? createPgStore(db) : createFileStore(join(input.config, 'spool'));
const queue = createQueue(
  { dir: join(input.config, 'spool'), deliver_now: false },
  { store, transport: { name: 'none', send: async () => [], close: async () => {} } },
);
const t0 = performance.now();
const recipients = (await members.list()).filter((m) => !m.nomail).map((m) => m.address);
const t1 = performance.now();
const outcome = await queue.enqueue({
  id: `million-${Date.now()}`,
  raw: Buffer.from(
    `From: poster@example.test\r\nTo: big@list.example.com\r\nSubject: to everyone\r\nMessage-ID: <million@example.test>\r\n\r\n${'x'.repeat(5 * 1024)}\r\n`,
  ),
  sender: 'big-bounces@list.example.com',
  recipients,
  list: 'big',
});
const t2 = performance.now();
await queue.close();
await db?.close();
process.stdout.write(
  `${JSON.stringify({ members: recipients.length, readMs: Math.round(t1 - t0), enqueueMs: Math.round(t2 - t1), status: outcome.outcome.status })}\n`,
);
