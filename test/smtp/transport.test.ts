import { afterEach, describe, expect, it } from 'vitest';
import type { Transport } from '../../src/queue/transport.ts';
import { createSmtpTransport } from '../../src/smtp/nodemailer.ts';
import type { RecipientResult } from '../../src/types.ts';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-server.ts';
import { testMessage } from './fixtures.ts';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function setup(
  serverOptions: Parameters<typeof startSmtpServer>[0] = {},
  transportOptions: Parameters<typeof createSmtpTransport>[0] = {},
): Promise<{ server: TestSmtpServer; transport: Transport }> {
  const server = await startSmtpServer(serverOptions);
  cleanup.push(() => server.stop());
  const transport = createSmtpTransport({
    host: '127.0.0.1',
    port: server.port,
    starttls: 'never',
    // Bounds for a hung server, generous for a loaded machine; timeout tests set their own.
    connection_timeout_ms: 30_000,
    greeting_timeout_ms: 30_000,
    socket_timeout_ms: 30_000,
    transaction_timeout_ms: 60_000,
    ...transportOptions,
  });
  cleanup.push(() => transport.close());
  return { server, transport };
}

const byRecipient = (results: RecipientResult[]) =>
  Object.fromEntries(results.map((r) => [r.recipient, r.status]));

describe('smtp transport', () => {
  it('sends the raw bytes unchanged, batched per transaction', async () => {
    const { server, transport } = await setup({}, { max_recipients_per_transaction: 2 });
    const raw = testMessage('raw1', 'caf\xe9 8-bit body\r\n.leading dot\r\n');
    const to = ['a@x.test', 'b@x.test', 'c@x.test', 'd@x.test', 'e@x.test'];
    const batches: number[] = [];
    const results = await transport.send({
      from: 'red-bounces@list.example.test',
      to,
      raw,
      onTransaction: async (r) => {
        batches.push(r.length);
      },
    });
    expect(results.map((r) => r.status)).toEqual(Array(5).fill('delivered'));
    expect(batches.sort()).toEqual([1, 2, 2]);
    expect(server.accepted).toHaveLength(3);
    for (const message of server.accepted) expect(message.raw.equals(raw)).toBe(true);
    for (const r of to) expect(server.count(r, 'raw1@example.com')).toBe(1);
  });

  it('gives per-recipient truth: 451 deferred, 550 failed, the rest delivered', async () => {
    const { server, transport } = await setup();
    server.addRule({ stage: 'rcpt', recipient: 'soft@x.test', reply: { code: 451 } });
    server.addRule({ stage: 'rcpt', recipient: 'hard@x.test', reply: { code: 550 } });
    const results = await transport.send({
      from: 'b@list.test',
      to: ['ok@x.test', 'soft@x.test', 'hard@x.test'],
      raw: testMessage('m2'),
    });
    expect(byRecipient(results)).toEqual({
      'ok@x.test': 'delivered',
      'soft@x.test': 'deferred',
      'hard@x.test': 'failed',
    });
    expect(results.find((r) => r.recipient === 'hard@x.test')?.code).toBe(550);
    expect(server.count('ok@x.test')).toBe(1);
    expect(server.count('soft@x.test')).toBe(0);
  });

  it('all recipients refused: each keeps its own answer', async () => {
    const { server, transport } = await setup();
    server.addRule({ stage: 'rcpt', recipient: 'soft@x.test', reply: { code: 452 } });
    server.addRule({ stage: 'rcpt', recipient: 'hard@x.test', reply: { code: 550 } });
    const results = await transport.send({
      from: 'b@list.test',
      to: ['soft@x.test', 'hard@x.test'],
      raw: testMessage('m3'),
    });
    expect(byRecipient(results)).toEqual({ 'soft@x.test': 'deferred', 'hard@x.test': 'failed' });
  });

  it('a DATA-stage answer applies to that transaction only', async () => {
    const { server, transport } = await setup({}, { max_recipients_per_transaction: 1 });
    server.addRule({ stage: 'data', recipient: 'a@x.test', reply: { code: 554 } });
    server.addRule({ stage: 'data', recipient: 'b@x.test', reply: { code: 451 } });
    const results = await transport.send({
      from: 'b@list.test',
      to: ['a@x.test', 'b@x.test', 'c@x.test'],
      raw: testMessage('m4'),
    });
    expect(byRecipient(results)).toEqual({
      'a@x.test': 'failed',
      'b@x.test': 'deferred',
      'c@x.test': 'delivered',
    });
  });

  it('a disconnect mid-DATA defers the transaction and is not re-sent by the pool', async () => {
    const { server, transport } = await setup();
    server.addRule({ stage: 'data', action: 'disconnect', times: 1 });
    const raw = testMessage('m5', 'x'.repeat(200_000));
    const results = await transport.send({ from: 'b@list.test', to: ['a@x.test'], raw });
    expect(results[0]?.status).toBe('deferred');
    await new Promise((r) => setTimeout(r, 300));
    expect(server.count('a@x.test')).toBe(0);
    const again = await transport.send({ from: 'b@list.test', to: ['a@x.test'], raw });
    expect(again[0]?.status).toBe('delivered');
    expect(server.count('a@x.test')).toBe(1);
  });

  it('server down, 421 at connect, a stall and AUTH refusal all defer', async () => {
    const { server, transport } = await setup(
      {},
      { transaction_timeout_ms: 800, socket_timeout_ms: 5_000 },
    );
    await server.stop();
    const down = await transport.send({
      from: 'b@l.test',
      to: ['a@x.test'],
      raw: testMessage('d'),
    });
    expect(down[0]?.status).toBe('deferred');
    await server.start();
    server.addRule({ stage: 'connect', reply: { code: 421 }, times: 1 });
    const busy = await transport.send({
      from: 'b@l.test',
      to: ['a@x.test'],
      raw: testMessage('e'),
    });
    expect(busy[0]?.status).toBe('deferred');
    server.addRule({ stage: 'rcpt', action: 'stall', times: 1 });
    const stalled = await transport.send({
      from: 'b@l.test',
      to: ['a@x.test'],
      raw: testMessage('f'),
    });
    // Ended by the transaction's deadline (800 ms), not by the idle socket's (5 s): said by
    // the outcome itself, not by a clock that load can stretch.
    expect(stalled[0]).toMatchObject({ status: 'deferred', response: 'Message sending aborted' });
    const ok = await transport.send({ from: 'b@l.test', to: ['a@x.test'], raw: testMessage('g') });
    expect(ok[0]?.status).toBe('delivered');
  });

  it('VERP: one transaction per recipient with the recipient in the sender', async () => {
    const { server, transport } = await setup({}, { verp: true });
    await transport.send({
      from: 'red-bounces@list.test',
      to: ['alice@example.com', 'bob@example.org'],
      raw: testMessage('v1'),
    });
    const senders = server.accepted.map((m) => `${m.from} ${m.to.join(',')}`).sort();
    expect(senders).toEqual([
      'red-bounces+alice=example.com@list.test alice@example.com',
      'red-bounces+bob=example.org@list.test bob@example.org',
    ]);
  });

  it('AUTH over STARTTLS (required by default when authenticating)', async () => {
    const { server, transport } = await setup(
      { auth: { user: 'u', pass: 'secret' }, starttls: true },
      {
        starttls: undefined,
        auth: { user: 'u', pass: 'secret' },
        tls: { reject_unauthorized: false },
      },
    );
    const results = await transport.send({
      from: 'b@l.test',
      to: ['a@x.test'],
      raw: testMessage('t'),
    });
    expect(results[0]?.status).toBe('delivered');
    expect(server.count('a@x.test')).toBe(1);

    const plain = await setup(
      { auth: { user: 'u', pass: 'secret' } },
      {
        starttls: undefined,
        auth: { user: 'u', pass: 'secret' },
      },
    );
    const refused = await plain.transport.send({
      from: 'b@l.test',
      to: ['a@x.test'],
      raw: testMessage('t2'),
    });
    // No STARTTLS offered: the password is never sent in clear text.
    expect(refused[0]?.status).toBe('deferred');
    expect(plain.server.count('a@x.test')).toBe(0);
  });

  it('implicit TLS', async () => {
    const { server, transport } = await setup(
      { secure: true },
      { secure: true, tls: { reject_unauthorized: false } },
    );
    const results = await transport.send({
      from: 'b@l.test',
      to: ['a@x.test'],
      raw: testMessage('s'),
    });
    expect(results[0]?.status).toBe('delivered');
    expect(server.count('a@x.test')).toBe(1);
  });
});
