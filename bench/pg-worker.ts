/**
 * One queue worker for the fan-out rows of `npm run bench -- --pg` (bench/pg-workers.ts):
 * `node --import tsx bench/pg-worker.ts '<json>'` with `{ backend, url?, dir, port, batch?, connections? }`.
 * Once ready it waits for a line on stdin (the parent starts every worker at once), then runs the queue (VERP: one transaction per recipient, the bulk client's pool) until no
 * entry is left unfinished, then prints one JSON line: when it started and ended its work
 * (epoch ms), what it delivered, the CPU it used meanwhile and its peak RSS.
 */

import { listVerpSender } from '../src/config/verp.ts';
import type { ListSettings } from '../src/list/settings.ts';
import { createFileStore } from '../src/queue/file-store.ts';
import { createPgStore } from '../src/queue/pg-store.ts';
import { createQueue } from '../src/queue/queue.ts';
import { createBulkTransport } from '../src/smtp/bulk-client.ts';
import { openDatabase } from '../src/state/pg.ts';

const input = JSON.parse(process.argv[2] ?? '{}') as {
  backend: 'files' | 'postgres';
  url?: string;
  dir: string;
  port: number;
  batch?: number;
  /** SMTP connections of the worker's bulk client. @default the client's (8) */
  connections?: number;
};
const db = input.backend === 'postgres' ? await openDatabase(input.url as string) : undefined;
const store = db
  ? createPgStore(db, input.batch ? { claimBatch: input.batch } : {})
  : createFileStore(input.dir);
const list = { name: 'bench', address: 'bench@list.example.test' } as ListSettings;
const queue = createQueue(
  { dir: input.dir },
  {
    store,
    transport: createBulkTransport({
      host: '127.0.0.1',
      port: input.port,
      starttls: 'never',
      ...(input.connections ? { max_connections: input.connections } : {}),
    }),
    sender: listVerpSender([list], Buffer.alloc(32, 7)),
  },
);
await store.ready();
// Every worker starts sending at the same moment: the parent says go once all are ready.
process.stdout.write('ready\n');
await new Promise((resolve) => process.stdin.once('data', resolve));
process.stdin.destroy();
const t0 = performance.timeOrigin + performance.now();
const cpu0 = process.cpuUsage();
let delivered = 0;
for (;;) {
  const summary = await queue.run();
  delivered += summary.delivered;
  if (summary.errors.length > 0) throw new Error(summary.errors.join('; '));
  if ((await queue.list()).length === 0) break;
  await new Promise((resolve) => setTimeout(resolve, 20));
}
const t1 = performance.timeOrigin + performance.now();
const cpu = process.cpuUsage(cpu0);
await queue.close();
await db?.close();
process.stdout.write(
  `${JSON.stringify({ t0, t1, delivered, cpuMs: (cpu.user + cpu.system) / 1000, rssMb: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`,
);
