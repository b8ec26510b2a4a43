/**
 * The sink's ceiling: a raw client that blasts pre-built SMTP at it as fast as the socket
 * takes bytes, over several connections, without waiting for any reply before the last.
 * It may do that only because the sink's answers are known in advance (a real client must
 * wait for 354); so its rate is an upper bound no SMTP client can beat on this machine.
 *
 * Usage (a child process, so it does not share the sink's core):
 *   node --import tsx bench/blaster.ts PORT MODE N CONNECTIONS BODY_BYTES
 * MODE `transactions`: N one-recipient transactions; `recipients`: one transaction with N
 * RCPTs. Prints {"ms": …} when the last final reply is in.
 */
import { connect } from 'node:net';

const [port, mode, n, connections, bodyBytes] = process.argv.slice(2);
const N = Number(n);
const C = mode === 'recipients' ? 1 : Number(connections);
const line = `${'x'.repeat(76)}\r\n`;
const body = Buffer.from(
  `Subject: ceiling\r\n\r\n${line.repeat(Math.ceil(Number(bodyBytes) / line.length))}.\r\n`,
);

function script(count: number, offset: number): Buffer {
  const parts: Buffer[] = [Buffer.from('EHLO blaster\r\n')];
  if (mode === 'recipients') {
    let cmds = 'MAIL FROM:<bench@sink.test>\r\n';
    for (let i = 0; i < count; i++) cmds += `RCPT TO:<m${i}@example.test>\r\n`;
    parts.push(Buffer.from(`${cmds}DATA\r\n`), body);
  } else {
    for (let i = 0; i < count; i++) {
      const r = offset + i;
      parts.push(
        Buffer.from(
          `MAIL FROM:<bench+m${r}=example.test@sink.test>\r\nRCPT TO:<m${r}@example.test>\r\nDATA\r\n`,
        ),
        body,
      );
    }
  }
  parts.push(Buffer.from('QUIT\r\n'));
  return Buffer.concat(parts);
}

const per = Math.ceil(N / C);
const scripts = Array.from({ length: C }, (_, c) => script(Math.min(per, N - c * per), c * per));
const started = performance.now();
await Promise.all(
  scripts.map(
    (bytes) =>
      new Promise<void>((resolve, reject) => {
        const socket = connect(Number(port), '127.0.0.1');
        socket.setNoDelay(true);
        socket.on('connect', () => socket.end(bytes));
        socket.on('error', reject);
        socket.on('data', () => {});
        // The sink closes after QUIT's 221: every reply before it is in.
        socket.on('close', () => resolve());
      }),
  ),
);
process.stdout.write(`${JSON.stringify({ ms: performance.now() - started })}\n`);
