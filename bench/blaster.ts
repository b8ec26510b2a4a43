/**
 * The sink's ceiling: a raw client that writes SMTP at the sink as fast as the socket takes
 * bytes, over several connections, without waiting for any reply before the last. It may
 * do that only because the sink's answers are known in advance (a real client must wait
 * for 354 before the message); so its rate bounds what any SMTP client can reach against
 * this sink on this machine.
 *
 * A child process, so it does not share the sink's core:
 *   node --import tsx bench/blaster.ts PORT N PER_TRANSACTION CONNECTIONS BODY_BYTES
 * sends N recipients, PER_TRANSACTION to a transaction (1: VERP-like), and prints
 * {"ms": …} once the sink has answered everything.
 */
import { connect, type Socket } from 'node:net';

const [port, n, perTx, connections, bodyBytes] = process.argv.slice(2).map(Number) as [
  number,
  number,
  number,
  number,
  number,
];
const line = `${'x'.repeat(76)}\r\n`;
const body = Buffer.from(
  `Subject: ceiling\r\n\r\n${line.repeat(Math.max(1, Math.ceil(bodyBytes / line.length)))}.\r\n`,
);

function commands(first: number, count: number): string {
  let out = `MAIL FROM:<bench+m${first}=example.test@sink.test>\r\n`;
  for (let i = first; i < first + count; i++) out += `RCPT TO:<m${i}@example.test>\r\n`;
  return `${out}DATA\r\n`;
}

async function blast(socket: Socket, first: number, last: number): Promise<void> {
  socket.write('EHLO blaster\r\n');
  for (let r = first; r < last; r += perTx) {
    socket.write(commands(r, Math.min(perTx, last - r)));
    if (!socket.write(body)) await new Promise((resolve) => socket.once('drain', resolve));
  }
  socket.end('QUIT\r\n');
}

const slots = Math.max(1, Math.min(connections, Math.ceil(n / perTx)));
const perSlot = Math.ceil(Math.ceil(n / perTx) / slots) * perTx;
const started = performance.now();
await Promise.all(
  Array.from(
    { length: slots },
    (_, c) =>
      new Promise<void>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1');
        socket.setNoDelay(true);
        socket.on('connect', () => {
          blast(socket, c * perSlot, Math.min(n, (c + 1) * perSlot)).catch(reject);
        });
        socket.on('error', reject);
        socket.on('data', () => {});
        // The sink closes after QUIT's 221: every reply before it is in.
        socket.on('close', () => resolve());
      }),
  ),
);
process.stdout.write(`${JSON.stringify({ ms: performance.now() - started })}\n`);
