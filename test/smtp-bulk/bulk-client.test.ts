/**
 * The bulk client against the package smtp-server (a strict, independent server with
 * fault injection) and against the benchmark sink.
 */
import { createServer, Socket as NetSocket, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startSink } from '../../bench/sink.ts';
import { verpAddress } from '../../src/mail/verp.ts';
import { type BulkSmtpOptions, createBulkTransport } from '../../src/smtp/bulk-client.ts';
import { slotsFor } from '../../src/smtp/bulk-send.ts';
import type { RecipientResult } from '../../src/types.ts';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-server.ts';
import { testMessage } from '../smtp/fixtures.ts';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const FROM = 'red-bounces@list.example.test';

function transportFor(port: number, options: BulkSmtpOptions = {}) {
  const transport = createBulkTransport({
    host: '127.0.0.1',
    port,
    starttls: 'never',
    // Bounds for a hung server, generous for a loaded machine; the tests of timeouts set theirs.
    connection_timeout_ms: 30_000,
    greeting_timeout_ms: 30_000,
    socket_timeout_ms: 30_000,
    transaction_timeout_ms: 60_000,
    ...options,
  });
  cleanup.push(() => transport.close());
  return transport;
}

async function setup(
  serverOptions: Parameters<typeof startSmtpServer>[0] = {},
  options: BulkSmtpOptions = {},
): Promise<{ server: TestSmtpServer; transport: ReturnType<typeof createBulkTransport> }> {
  const server = await startSmtpServer(serverOptions);
  cleanup.push(() => server.stop());
  return { server, transport: transportFor(server.port, options) };
}

const statuses = (results: RecipientResult[]) =>
  Object.fromEntries(results.map((r) => [r.recipient, r.status]));
const members = (n: number) => Array.from({ length: n }, (_, i) => `m${i}@x.test`);

describe('bulk SMTP client', () => {
  it('batches recipients per transaction and sends the bytes unchanged', async () => {
    const { server, transport } = await setup({}, { max_recipients_per_transaction: 2 });
    const raw = testMessage('raw1', 'caf\xe9 8-bit body\r\n.leading dot\r\n');
    const to = members(5);
    const settled: RecipientResult[] = [];
    const results = await transport.send({
      from: FROM,
      to,
      raw,
      onTransaction: async (r) => {
        settled.push(...r);
      },
    });
    expect(results.map((r) => r.status)).toEqual(Array(5).fill('delivered'));
    expect(results.map((r) => r.recipient)).toEqual(to);
    expect(settled.map((r) => r.recipient).sort()).toEqual([...to].sort());
    expect(server.accepted.map((m) => m.to.length).sort()).toEqual([1, 2, 2]);
    for (const message of server.accepted) expect(message.raw.equals(raw)).toBe(true);
    expect(server.duplicates()).toEqual([]);
  });

  it('makes LF line ends CRLF and dot-stuffs once', async () => {
    const { server, transport } = await setup();
    const raw = Buffer.from('Message-ID: <lf@x>\nSubject: lf\n\n.dot\nline\n.\nend');
    await transport.send({ from: FROM, to: members(3), raw });
    expect(server.accepted[0]?.raw.toString()).toBe(
      'Message-ID: <lf@x>\r\nSubject: lf\r\n\r\n.dot\r\nline\r\n.\r\nend\r\n',
    );
  });

  it('streams a large LF message (converted piece by piece) intact to every recipient', async () => {
    // The fault server parses 5 MB slowly on a loaded machine: this test is about the bytes, not timeouts.
    const { server, transport } = await setup(
      {},
      { verp: true, socket_timeout_ms: 30_000, transaction_timeout_ms: 60_000 },
    );
    const line = '.a line of a large post, with a leading dot\n';
    const raw = Buffer.from(`Message-ID: <big@x>\nSubject: big\n\n${line.repeat(120_000)}`);
    const results = await transport.send({ from: FROM, to: members(2), raw });
    expect(results.map((r) => r.status)).toEqual(['delivered', 'delivered']);
    const expected = raw.toString().replace(/\n/g, '\r\n');
    for (const m of server.accepted) expect(m.raw.toString() === expected).toBe(true);
  });

  it('gives per-recipient truth: 451 deferred, 550 failed, the rest delivered', async () => {
    const { server, transport } = await setup();
    server.addRule({ stage: 'rcpt', recipient: 'soft@x.test', reply: { code: 451 } });
    server.addRule({ stage: 'rcpt', recipient: 'hard@x.test', reply: { code: 550 } });
    const results = await transport.send({
      from: FROM,
      to: ['a@x.test', 'soft@x.test', 'hard@x.test', 'b@x.test'],
      raw: testMessage('truth'),
    });
    expect(statuses(results)).toEqual({
      'a@x.test': 'delivered',
      'soft@x.test': 'deferred',
      'hard@x.test': 'failed',
      'b@x.test': 'delivered',
    });
    const hard = results.find((r) => r.recipient === 'hard@x.test');
    expect(hard?.code).toBe(550);
    expect(server.accepted).toHaveLength(1);
  });

  it('sends one transaction per recipient with a VERP sender', async () => {
    const { server, transport } = await setup({}, { verp: true, max_connections: 3 });
    server.addRule({ stage: 'rcpt', recipient: 'hard@x.test', reply: { code: 550 } });
    server.addRule({ stage: 'rcpt', recipient: 'soft@x.test', reply: { code: 452 } });
    const to = [...members(20), 'hard@x.test', 'soft@x.test'];
    const results = await transport.send({ from: FROM, to, raw: testMessage('verp') });
    expect(results.filter((r) => r.status === 'delivered')).toHaveLength(20);
    expect(statuses(results)['hard@x.test']).toBe('failed');
    expect(statuses(results)['soft@x.test']).toBe('deferred');
    expect(server.accepted).toHaveLength(20);
    for (const m of server.accepted) {
      expect(m.to).toHaveLength(1);
      expect(m.from).toBe(verpAddress(FROM, m.to[0] as string));
    }
    expect(server.connections).toBeLessThanOrEqual(3);
  });

  it('opens a connection for every 4 transactions, up to max_connections', async () => {
    // Ten VERP transactions (a post to ten members) take 3 connections, not the 8 allowed.
    const small = await setup({}, { verp: true, max_connections: 8 });
    await small.transport.send({ from: FROM, to: members(10), raw: testMessage('few') });
    expect(small.server.accepted).toHaveLength(10);
    expect(small.server.connections).toBe(3);
    expect(slotsFor(1, 8)).toBe(1);
    expect(slotsFor(10, 8)).toBe(3);
    expect(slotsFor(1000, 8)).toBe(8);
    expect(slotsFor(10, 2)).toBe(2);
  });

  it('a job’s own senderFor wins over the transport’s VERP: nothing is encoded twice', async () => {
    const { server, transport } = await setup({}, { verp: true });
    const senderFor = (r: string) => `red-bounces+${r.replace('@', '=')}+abcdefghij@list.example`;
    await transport.send({ from: FROM, to: members(3), raw: testMessage('s'), senderFor });
    expect(server.accepted).toHaveLength(3);
    for (const m of server.accepted) expect(m.from).toBe(senderFor(m.to[0] as string));
  });

  it('personalises each recipient’s bytes in VERP mode', async () => {
    const { server, transport } = await setup({}, { verp: true });
    await transport.send({
      from: FROM,
      to: members(3),
      raw: testMessage('p'),
      personalise: (r) => testMessage('p', `Hello ${r}\r\n`),
    });
    for (const m of server.accepted) expect(m.raw.toString()).toContain(`Hello ${m.to[0]}`);
  });

  it('reuses connections across transactions and sends (RSET after a refused one)', async () => {
    const { server, transport } = await setup({}, { max_connections: 2, verp: true });
    server.addRule({ stage: 'mail', sender: /^red-bounces\+m3=/, reply: { code: 550 } });
    server.addRule({ stage: 'data', recipient: 'm5@x.test', reply: { code: 554 } });
    const first = await transport.send({ from: FROM, to: members(10), raw: testMessage('c1') });
    expect(statuses(first)['m3@x.test']).toBe('failed');
    expect(statuses(first)['m5@x.test']).toBe('failed');
    expect(first.filter((r) => r.status === 'delivered')).toHaveLength(8);
    await transport.send({ from: FROM, to: members(10), raw: testMessage('c2') });
    expect(server.connections).toBeLessThanOrEqual(2);
    expect(server.count('m1@x.test')).toBe(2);
  });

  it('defers only the unfinished transaction when the connection drops mid-DATA', async () => {
    const { server, transport } = await setup(
      {},
      { max_recipients_per_transaction: 3, max_connections: 1 },
    );
    server.addRule({ stage: 'data', recipient: 'm4@x.test', action: 'disconnect', times: 1 });
    const to = members(9);
    const raw = testMessage('drop', `${'z'.repeat(70)}\r\n`.repeat(2000));
    const results = await transport.send({ from: FROM, to, raw });
    expect(statuses(results)).toEqual({
      'm0@x.test': 'delivered',
      'm1@x.test': 'delivered',
      'm2@x.test': 'delivered',
      'm3@x.test': 'deferred',
      'm4@x.test': 'deferred',
      'm5@x.test': 'deferred',
      'm6@x.test': 'delivered',
      'm7@x.test': 'delivered',
      'm8@x.test': 'delivered',
    });
    // A second send of the deferred ones delivers each exactly once.
    const again = await transport.send({
      from: FROM,
      to: ['m3@x.test', 'm4@x.test', 'm5@x.test'],
      raw,
    });
    expect(again.map((r) => r.status)).toEqual(['delivered', 'delivered', 'delivered']);
    expect(server.duplicates()).toEqual([]);
    for (const r of to) expect(server.count(r)).toBe(1);
  });

  it('defers on 4xx after the message, fails on 5xx at MAIL', async () => {
    const { server, transport } = await setup();
    server.addRule({ stage: 'data', reply: { code: 452 }, times: 1 });
    const soft = await transport.send({ from: FROM, to: members(2), raw: testMessage('d1') });
    expect(soft.map((r) => [r.status, r.code])).toEqual([
      ['deferred', 452],
      ['deferred', 452],
    ]);
    server.addRule({ stage: 'mail', reply: { code: 553 }, times: 1 });
    const hard = await transport.send({ from: FROM, to: members(2), raw: testMessage('d2') });
    expect(hard.map((r) => r.status)).toEqual(['failed', 'failed']);
    const ok = await transport.send({ from: FROM, to: members(2), raw: testMessage('d3') });
    expect(ok.map((r) => r.status)).toEqual(['delivered', 'delivered']);
  });

  it('works without PIPELINING', async () => {
    const { server, transport } = await setup({ hidePipelining: true }, { verp: true });
    server.addRule({ stage: 'rcpt', recipient: 'm2@x.test', reply: { code: 550 } });
    const results = await transport.send({ from: FROM, to: members(5), raw: testMessage('np') });
    expect(results.map((r) => r.status)).toEqual([
      'delivered',
      'delivered',
      'failed',
      'delivered',
      'delivered',
    ]);
    expect(server.accepted).toHaveLength(4);
  });

  it('talks STARTTLS and AUTH (PLAIN and LOGIN); a wrong password defers', async () => {
    const auth = { user: 'list', pass: 's3cret' };
    for (const method of ['PLAIN', 'LOGIN']) {
      const { server, transport } = await setup(
        { starttls: true, auth },
        { starttls: 'required', tls: { reject_unauthorized: false }, auth: { ...auth, method } },
      );
      const results = await transport.send({
        from: FROM,
        to: members(2),
        raw: testMessage(method),
      });
      expect(results.map((r) => r.status)).toEqual(['delivered', 'delivered']);
      expect(server.accepted).toHaveLength(1);
    }
    const { transport } = await setup(
      { starttls: true, auth },
      {
        starttls: 'required',
        tls: { reject_unauthorized: false },
        auth: { ...auth, pass: 'wrong' },
      },
    );
    const refused = await transport.send({ from: FROM, to: members(2), raw: testMessage('bad') });
    expect(refused.map((r) => [r.status, r.code])).toEqual([
      ['deferred', 535],
      ['deferred', 535],
    ]);
    expect(refused[0]?.response).not.toContain('wrong');
  });

  it('refuses when STARTTLS is required and not offered', async () => {
    const { server, transport } = await setup({}, { starttls: 'required' });
    const results = await transport.send({ from: FROM, to: members(1), raw: testMessage('tls') });
    expect(results[0]?.status).toBe('deferred');
    expect(results[0]?.response).toMatch(/STARTTLS/);
    expect(server.accepted).toHaveLength(0);
  });

  it('times out a server that stops answering, and defers', async () => {
    const { server, transport } = await setup(
      {},
      { socket_timeout_ms: 300, transaction_timeout_ms: 300, max_connections: 1 },
    );
    server.addRule({ stage: 'data', action: 'stall' });
    const results = await transport.send({ from: FROM, to: members(2), raw: testMessage('stall') });
    expect(results.map((r) => r.status)).toEqual(['deferred', 'deferred']);
    expect(results[0]?.response).toMatch(/timed out|no activity/);
  });

  it('defers everyone when the server cannot be reached', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const address = probe.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const transport = transportFor(port);
    const results = await transport.send({ from: FROM, to: members(3), raw: testMessage('down') });
    expect(results.map((r) => r.status)).toEqual(['deferred', 'deferred', 'deferred']);
    expect(results[0]?.response).toMatch(/ECONNREFUSED|connect/);
  });

  it('never puts an address that could inject commands on the wire', async () => {
    const { server, transport } = await setup();
    const results = await transport.send({
      from: FROM,
      to: ['ok@x.test', 'evil@x.test>\r\nRCPT TO:<other@x.test'],
      raw: testMessage('inject'),
    });
    expect(results.map((r) => [r.status, r.code])).toEqual([
      ['delivered', 250],
      ['failed', 553],
    ]);
    expect(server.accepted[0]?.to).toEqual(['ok@x.test']);
  });

  it('refuses a message over the server’s SIZE before sending it', async () => {
    const { server, transport } = await setup({ size: 1000 });
    const results = await transport.send({
      from: FROM,
      to: members(2),
      raw: testMessage('big', 'x'.repeat(2000)),
    });
    expect(results.map((r) => [r.status, r.code])).toEqual([
      ['failed', 552],
      ['failed', 552],
    ]);
    expect(server.dataStarts).toBe(0);
  });

  it('stops sending when the sent-log cannot be written, and says so', async () => {
    const { server, transport } = await setup({}, { verp: true, max_connections: 1 });
    let calls = 0;
    await expect(
      transport.send({
        from: FROM,
        to: members(50),
        raw: testMessage('log'),
        onTransaction: async () => {
          calls++;
          throw new Error('disk full');
        },
      }),
    ).rejects.toThrow('disk full');
    expect(calls).toBe(1);
    expect(server.accepted.length).toBeLessThan(50);
  });
});

describe('benchmark sink', () => {
  it('counts, refuses, defers once, and finds the final dot across chunk seams', async () => {
    const sink = await startSink({
      refuse: (a) => a.startsWith('r'),
      defer: (a) => a.startsWith('d'),
      deferOnce: true,
    });
    cleanup.push(() => sink.close());
    sink.reset({ track: true });
    const transport = transportFor(sink.port, { verp: true, max_connections: 2 });
    const to = ['m1@x.test', 'r1@x.test', 'd1@x.test', 'm2@x.test'];
    const first = await transport.send({ from: FROM, to, raw: testMessage('sink') });
    expect(first.map((r) => r.status)).toEqual(['delivered', 'failed', 'deferred', 'delivered']);
    const retry = await transport.send({ from: FROM, to: ['d1@x.test'], raw: testMessage('sink') });
    expect(retry[0]?.status).toBe('delivered');
    expect(sink.stats).toMatchObject({ transactions: 3, recipients: 3, refused: 1, deferred: 1 });
    expect([...(sink.stats.perRecipient?.values() ?? [])]).toEqual([1, 1, 1]);

    // One byte at a time: the terminator straddles every possible seam.
    const socket = await new Promise<Socket>((resolve) => {
      const s = new NetSocket();
      s.connect(sink.port, '127.0.0.1', () => resolve(s));
    });
    let answers = '';
    socket.on('data', (d) => {
      answers += d.toString();
    });
    const script = 'EHLO t\r\nMAIL FROM:<a@x>\r\nRCPT TO:<m@x>\r\nDATA\r\n';
    socket.write(script);
    while (!answers.includes('354')) await new Promise((r) => setTimeout(r, 5));
    for (const byte of 'a\r\n..\r\n.\r\nQUIT\r\n') {
      socket.write(byte);
      await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => socket.on('close', r));
    expect(answers).toMatch(/250 2\.0\.0 Ok: queued\r\n221/);
    expect(sink.stats.transactions).toBe(4);
  });
});
