/**
 * A silent network cut between a queue worker and PostgreSQL: no FIN, no RST, nothing (a
 * firewall dropping the flow). Worker A reaches the database through a small TCP proxy
 * that forwards and then goes silent (both sockets paused, nothing sent either way, nothing
 * closed). A's lease heartbeat gets no answer, so A counts its lease lost and sends nobody
 * more of its claim; the server, hearing nothing on the lease's session, ends it
 * (idle_session_timeout), which frees A's lock, and worker B takes the post over. Counted at
 * the SMTP server: nobody lost, nobody twice but a reply in flight at the cut.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { type ProcessLease, processLease } from '../../src/state/pg-lock.ts';
import { finishPost, pgAndSmtp, pgQueueWorker } from '../helpers/pg-queue-worker.ts';
import { postgresAvailable } from '../helpers/postgres.ts';
import { until } from '../helpers/until.ts';
import { testMessage } from '../smtp/fixtures.ts';

const available = postgresAvailable();

/** A TCP proxy to `port` that can go silent: pause both sides, forward nothing, close nothing. */
async function silentProxy(port: number) {
  let silent = false;
  const sockets: Socket[] = [];
  const server: Server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    sockets.push(client, upstream);
    const forward = (from: Socket, to: Socket) => {
      from.on('data', (chunk) => {
        if (!silent) to.write(chunk);
      });
      from.on('error', () => {});
      from.on('close', () => {
        if (!silent) to.destroy();
      });
    };
    forward(client, upstream);
    forward(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    silence() {
      silent = true;
      for (const s of sockets) s.pause();
    },
    stop() {
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}

describe.skipIf(!available)('a silent network cut to PostgreSQL', () => {
  // Each RCPT answered after 5 ms: a fan-out is well under way when the test cuts it.
  const servers = pgAndSmtp({ rcptDelayMs: 5 });

  it('the cut worker gives its lease up in bounded time; another delivers the rest, none lost', async () => {
    const name = 'silent_cut';
    const url = await servers.pg.createDatabase(name);
    const proxy = await silentProxy(Number(new URL(url).port));
    const viaProxy = new URL(url);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    const token = `silent-cut-${Date.now()}`;
    const messageId = `${token}@example.com`;
    const recipients = Array.from(
      { length: 400 },
      (_, i) => `m${String(i).padStart(4, '0')}@cut.test`,
    );
    // A through the proxy, its lease's silence 3 s (60 s by default); B straight.
    const a = await pgQueueWorker(viaProxy.toString(), servers.server.port, (db) =>
      processLease(db, 3_000),
    );
    const b = await pgQueueWorker(url, servers.server.port, (db) => processLease(db));
    try {
      await b.queue.enqueue({
        id: token,
        raw: testMessage(token),
        sender: 'red-bounces@list.example.test',
        recipients,
      });
      const sent = () => recipients.reduce((n, r) => n + servers.server.count(r, messageId), 0);
      // A claims the whole post (one batch) and starts sending.
      void a.queue.run().catch(() => {});
      await until('worker A to be well into the fan-out', () => sent() >= 40);
      const holder = a.lease.current as NonNullable<ProcessLease['current']>;
      proxy.silence();
      // A notices within a few beats (bounded; no timing asserted) and stops sending.
      await until('A to count its lease lost after the silent cut', () => holder.lost(), 60_000);
      const atLoss = sent();
      // B takes A's claim over once the server has ended A's silent lease session.
      const reclaimed = await finishPost(b);
      const counts = recipients.map((r) => servers.server.count(r, messageId));
      const twice = counts.filter((c) => c > 1).length;
      process.stdout.write(
        `silent cut mid-fan-out: ${recipients.length} members, ${atLoss} sent when A saw the loss, ${counts.filter((c) => c === 0).length} lost, ${twice} twice, ${reclaimed} claim(s) taken over\n`,
      );
      expect(reclaimed).toBeGreaterThanOrEqual(1);
      expect(counts.filter((c) => c === 0)).toHaveLength(0);
      // Only replies in flight at the cut: one transaction per connection of A.
      expect(twice).toBeLessThanOrEqual(2);
    } finally {
      proxy.stop();
      await b.queue.close();
      await b.lease.end();
      // A's pool talks to a proxy that is gone: its close is not waited for.
      void a.queue.close().catch(() => {});
      void a.lease.end().catch(() => {});
      await b.db.close();
      void a.db.close().catch(() => {});
    }
  }, 180_000);
});
