/**
 * watch() against a real Dovecot, through a TCP proxy the test can freeze (a half-open
 * connection: no FIN, no answer): new mail is handled within moments over IDLE, a frozen
 * connection is found dead by the heartbeat and replaced, and aborting stops cleanly.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import createImapFetcher, { type ImapOptions } from '../../src/fetchers/imap.ts';
import { type WatchEvent, watch } from '../../src/fetchers/imap-watch.ts';
import { play } from '../../src/play.ts';
import { type Dovecot, dovecotAvailable, freePort, startDovecot } from '../helpers/dovecot.ts';
import { until } from '../helpers/until.ts';
import { numbered, sha256 } from './network-helpers.ts';
import { deliveries, recordingDistributor, toArchive } from './recording.ts';

const available = dovecotAvailable();
let dovecot: Dovecot;
let scratch: string;

beforeAll(async () => {
  if (!available) return;
  dovecot = await startDovecot({ users: ['w1', 'w2'] });
  scratch = await mkdtemp(join(tmpdir(), 'malist-watch-test-'));
}, 60_000);
afterAll(async () => {
  await dovecot?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** A TCP proxy to `target`; `freeze()` makes every open connection silent without closing it. */
async function startProxy(target: number) {
  const pairs: { client: Socket; upstream: Socket; frozen: boolean }[] = [];
  const server: Server = createServer((client) => {
    const upstream = new Socket();
    const pair = { client, upstream, frozen: false };
    pairs.push(pair);
    upstream.connect(target, '127.0.0.1');
    client.on('data', (d) => {
      if (!pair.frozen) upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (!pair.frozen) client.write(d);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    connections: () => pairs.length,
    freeze() {
      for (const pair of pairs) pair.frozen = true;
    },
    async close() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Waits for `check`; the deadline only bounds a failing run, so it is generous for a loaded machine. */
describe.skipIf(!available)('watch (IMAP IDLE) against Dovecot', () => {
  it('handles new mail over IDLE, replaces a frozen connection, stops when aborted', async () => {
    const user = 'w1';
    const dir = await mkdtemp(join(scratch, 'w1-'));
    const outDir = join(dir, 'out');
    const proxy = await startProxy(dovecot.ports.imap);
    const fetcherOptions: ImapOptions = {
      host: dovecot.host,
      port: dovecot.ports.imap,
      tls: 'starttls',
      caFile: dovecot.caFile,
      user: dovecot.address(user),
      password: dovecot.password(user),
      stateDir: join(dir, 'state'),
      timeout: 30_000,
    };
    const controller = new AbortController();
    const events: WatchEvent[] = [];
    const errors: Error[] = [];
    const done = watch({
      imap: { ...fetcherOptions, port: proxy.port, timeout: 10_000 },
      runOnce: (signal) =>
        play({
          fetcher: createImapFetcher(fetcherOptions),
          processor: toArchive,
          distributor: recordingDistributor(outDir),
          stateDir: join(dir, 'state'),
          signal,
        }),
      signal: controller.signal,
      // A NOOP unanswered for 2 s is a frozen connection; a loaded machine answers sooner.
      heartbeat: 400,
      heartbeatTimeout: 2000,
      reconnectDelay: 50,
      onEvent: (e) => events.push(e),
      onError: (e) => errors.push(e),
    });
    try {
      await until('the first IDLE', () => events.some((e) => e.type === 'idle'));
      const first = numbered(1, 'watch');
      await dovecot.deliver(user, first);
      await until('the first mail', () => deliveries(outDir).length === 1);
      // Handled because IDLE announced it (the poll is 10 minutes away), said by the events
      // rather than by a clock.
      expect(events).toContainEqual({ type: 'run', reason: 'mail' });

      proxy.freeze();
      await until('the dead connection found', () => events.some((e) => e.type === 'dead'));
      await until(
        'a new connection',
        () => events.filter((e) => e.type === 'connected').length >= 2,
      );
      expect(errors.some((e) => /NOOP/.test(e.message))).toBe(true);

      const second = numbered(2, 'watch');
      await dovecot.deliver(user, second);
      await until('the second mail', () => deliveries(outDir).length === 2);
      expect(deliveries(outDir)).toEqual([sha256(first), sha256(second)]);
    } finally {
      controller.abort();
      await done;
      await proxy.close();
    }
    expect(events.at(-1)).toEqual({ type: 'stopped' });
    expect(await dovecot.messages(user)).toHaveLength(0);
  }, 120_000);

  it('an abort during a run lets the run finish the mail in hand, then stops', async () => {
    const user = 'w2';
    const dir = await mkdtemp(join(scratch, 'w2-'));
    const controller = new AbortController();
    let finished = false;
    const done = watch({
      imap: {
        host: dovecot.host,
        port: dovecot.ports.imaps,
        tls: 'implicit',
        caFile: dovecot.caFile,
        user: dovecot.address(user),
        password: dovecot.password(user),
      },
      runOnce: async () => {
        controller.abort();
        await new Promise((resolve) => setTimeout(resolve, 300));
        finished = true;
      },
      signal: controller.signal,
      heartbeat: 1000,
    });
    await done;
    expect(finished).toBe(true);
    await rm(dir, { recursive: true, force: true });
  });

  it('a server that is not there: errors reported, retried with backoff, abort still stops', async () => {
    const controller = new AbortController();
    const events: WatchEvent[] = [];
    const errors: Error[] = [];
    let runs = 0;
    const done = watch({
      imap: {
        host: '127.0.0.1',
        port: await freePort(),
        tls: 'none',
        user: 'nobody',
        password: 'x',
      },
      runOnce: async () => {
        runs++;
      },
      signal: controller.signal,
      reconnectDelay: 20,
      maxReconnectDelay: 80,
      onEvent: (e) => events.push(e),
      onError: (e) => errors.push(e),
    });
    await until('three attempts', () => events.filter((e) => e.type === 'reconnect').length >= 3);
    controller.abort();
    await done;
    const delays = events.flatMap((e) => (e.type === 'reconnect' ? [e.delay] : []));
    expect(delays.slice(0, 4)).toEqual([20, 40, 80, 80].slice(0, delays.length));
    expect(errors[0]?.message).toMatch(/connection refused/);
    expect(runs).toBe(0);
    expect(events.at(-1)).toEqual({ type: 'stopped' });
  });

  it('a session the server ends (doveadm kick) is replaced', async () => {
    const user = 'w2';
    const controller = new AbortController();
    const events: WatchEvent[] = [];
    const done = watch({
      imap: {
        host: dovecot.host,
        port: dovecot.ports.imaps,
        tls: 'implicit',
        caFile: dovecot.caFile,
        user: dovecot.address(user),
        password: dovecot.password(user),
      },
      runOnce: async () => {},
      signal: controller.signal,
      heartbeat: 5000,
      reconnectDelay: 20,
      onEvent: (e) => events.push(e),
    });
    try {
      await until('the first IDLE', () => events.some((e) => e.type === 'idle'));
      expect(dovecot.doveadm('kick', dovecot.address(user)).status).toBe(0);
      await until(
        'a new connection',
        () => events.filter((e) => e.type === 'connected').length >= 2,
      );
      expect(events.some((e) => e.type === 'dead')).toBe(true);
    } finally {
      controller.abort();
      await done;
    }
  });
});
