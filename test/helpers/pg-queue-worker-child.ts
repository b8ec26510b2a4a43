/**
 * One queue worker on PostgreSQL for the many-workers crash tests, sharing nothing with the
 * others but the database: `node --import tsx pg-queue-worker-child.ts URL PORT STATE_DIR
 * BATCH`. It runs the queue until no entry is left unfinished (waiting while another live
 * worker holds a batch, taking over the batches of dead ones), one transaction per
 * recipient over one connection, so a SIGKILL falls between two transactions or inside one.
 */
import { createPgStore } from '../../src/queue/pg-store.ts';
import { createQueue } from '../../src/queue/queue.ts';
import { createSmtpTransport } from '../../src/smtp/nodemailer.ts';
import { openDatabase } from '../../src/state/pg.ts';

const [url, port, stateDir, batch] = process.argv.slice(2);
const db = await openDatabase(url as string);
const store = createPgStore(db, { claimBatch: Number(batch ?? 50) });
const queue = createQueue(
  { dir: stateDir as string },
  {
    store,
    transport: createSmtpTransport({
      host: '127.0.0.1',
      port: Number(port),
      starttls: 'never',
      max_recipients_per_transaction: 1,
      max_connections: 1,
    }),
  },
);
await store.ready();
process.stdout.write('running\n');
let errors = 0;
let reclaimed = 0;
for (;;) {
  const summary = await queue.run();
  errors += summary.errors.length;
  reclaimed += summary.reclaimed;
  for (const e of summary.errors) process.stderr.write(`${e}\n`);
  if ((await queue.list()).every((e) => e.where === 'dead')) break;
  // Another worker holds the rest: wait for it to finish, or to die.
  await new Promise((resolve) => setTimeout(resolve, 50));
}
await queue.close();
await db.close();
process.stdout.write(`reclaimed ${reclaimed}\n`);
process.exitCode = errors > 0 ? 75 : 0;
