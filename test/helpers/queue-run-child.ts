/**
 * A queue runner without the command line or the config loader (fast to start), for the
 * crash tests: `node --import tsx queue-run-child.ts SPOOL PORT`, one transaction per
 * recipient over one connection, so a crash point can fall between two transactions.
 */

import { createQueue } from '../../src/queue/queue.ts';
import { createSmtpTransport } from '../../src/smtp/nodemailer.ts';

const [spool, port] = process.argv.slice(2);
const queue = createQueue(
  { dir: spool as string },
  {
    transport: createSmtpTransport({
      host: '127.0.0.1',
      port: Number(port),
      starttls: 'never',
      max_recipients_per_transaction: 1,
      max_connections: 1,
    }),
  },
);
const summary = await queue.run();
await queue.close();
process.exitCode = summary.errors.length > 0 ? 75 : 0;
