/**
 * The pop3 fetcher (node-pop3 and our workarounds) against a hostile fake server that sends
 * every reply in pieces of 1–7 bytes: status lines, dot-stuffed bodies and terminators split
 * anywhere; a server that dies or goes silent mid-message; a LIST that lies about the size.
 * The real-server tests are in test/fetchers/pop3.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NothingMore, StageError } from '../errors.ts';
import createPop3Fetcher from './pop3.ts';

interface FakeOptions {
  messages: Buffer[];
  /** On RETR of this message number: send part of it, then `die` or go `silent` (`times` times). */
  breakAt?: { n: number; how: 'die' | 'silent'; times?: number };
  /** LIST says every message is this big. */
  listSize?: number;
}

function stuff(message: Buffer): Buffer {
  const out: number[] = [];
  let lineStart = true;
  for (const byte of message) {
    if (lineStart && byte === 0x2e) out.push(0x2e);
    out.push(byte);
    lineStart = byte === 0x0a;
  }
  return Buffer.from(out);
}

const servers: Server[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) server.close();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function fakePop3(options: FakeOptions) {
  const committed = new Set<number>();
  const commands: string[] = [];
  let breaks = 0;
  let seed = 7;
  const nextSize = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return 1 + (seed % 7);
  };
  async function send(socket: Socket, data: Buffer | string, stopAfter?: number) {
    const buffer = Buffer.isBuffer(data) ? data : Buffer.from(data, 'latin1');
    for (let i = 0; i < buffer.length; ) {
      if (socket.destroyed) return;
      if (stopAfter !== undefined && i >= stopAfter) return;
      const size = nextSize();
      socket.write(buffer.subarray(i, i + size));
      i += size;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    let input = '';
    // DELE marks are the session's own; QUIT commits them (RFC 1939).
    const deleted = new Set<number>();
    let queue = send(socket, '+OK fake ready\r\n');
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      input += chunk.toString('latin1');
      for (let lf = input.indexOf('\r\n'); lf !== -1; lf = input.indexOf('\r\n')) {
        const line = input.slice(0, lf);
        input = input.slice(lf + 2);
        queue = queue.then(() => answer(socket, line, deleted));
      }
    });
  });
  async function answer(socket: Socket, line: string, deleted: Set<number>) {
    const [cmd = '', arg = ''] = line.split(' ');
    commands.push(cmd.toUpperCase());
    const live = options.messages
      .map((m, i) => [i + 1, m] as const)
      .filter(([n]) => !deleted.has(n) && !committed.has(n));
    switch (cmd.toUpperCase()) {
      case 'USER':
        return send(socket, '+OK\r\n');
      case 'PASS':
        return send(
          socket,
          arg === 'pw' ? '+OK logged in\r\n' : '-ERR [AUTH] Authentication failed.\r\n',
        );
      case 'UIDL':
        return send(socket, `+OK\r\n${live.map(([n]) => `${n} uid-${n}\r\n`).join('')}.\r\n`);
      case 'LIST':
        return send(
          socket,
          `+OK\r\n${live.map(([n, m]) => `${n} ${options.listSize ?? m.length}\r\n`).join('')}.\r\n`,
        );
      case 'RETR': {
        const n = Number(arg);
        const message = options.messages[n - 1]!;
        const body = Buffer.concat([
          Buffer.from(`+OK ${message.length} octets\r\n`),
          stuff(message),
          Buffer.from('.\r\n'),
        ]);
        if (options.breakAt?.n === n && (options.breakAt.times ?? 1) > breaks) {
          breaks++;
          await send(socket, body, Math.floor(body.length / 2));
          if (options.breakAt.how === 'die') socket.destroy();
          return; // silent: never another byte
        }
        return send(socket, body);
      }
      case 'DELE':
        deleted.add(Number(arg));
        return send(socket, '+OK deleted\r\n');
      case 'QUIT':
        for (const n of deleted) committed.add(n);
        await send(socket, '+OK bye\r\n');
        socket.end();
        return;
      default:
        return send(socket, '-ERR unknown command\r\n');
    }
  }
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { port: typeof address === 'object' && address ? address.port : 0, committed, commands };
}

async function fetcherFor(
  port: number,
  over: {
    password?: string;
    maxMailSize?: number;
    timeout?: number;
    tls?: 'none' | 'starttls';
    reconnects?: number;
  } = {},
) {
  const dir = await mkdtemp(join(tmpdir(), 'malist-pop3-unit-'));
  dirs.push(dir);
  return createPop3Fetcher({
    host: '127.0.0.1',
    port,
    tls: over.tls ?? 'none',
    user: 'u',
    password: over.password ?? 'pw',
    stateDir: dir,
    tmpDir: dir,
    timeout: over.timeout ?? 3000,
    maxMailSize: over.maxMailSize,
    reconnects: over.reconnects,
  });
}

const TRICKY = [
  Buffer.from('Subject: one\r\n\r\n.\r\n..\r\n.x\r\nend.\r\n', 'latin1'),
  Buffer.from(
    'Subject: two\r\n\r\n\xe9\xff\x00 8-bit\r\nbare\rCR and bare\nLF\n.\n\r\n.\r\r\n',
    'latin1',
  ),
  Buffer.from('Subject: three\r\n\r\nlast line\r\n', 'latin1'),
];

describe('pop3 fetcher against a server that splits every reply into tiny pieces', () => {
  it('hands out each message byte for byte, then NothingMore; QUIT commits the DELEs', async () => {
    const fake = await fakePop3({ messages: TRICKY });
    const fetcher = await fetcherFor(fake.port);
    const got: Buffer[] = [];
    for (let i = 0; i < 10; i++) {
      const fetched = await fetcher.fetch().catch((e: unknown) => e);
      if (fetched instanceof NothingMore) break;
      if (fetched instanceof Error) throw fetched;
      got.push((fetched as { mail: { raw: Buffer } }).mail.raw);
      await (fetched as { ack(): Promise<void> }).ack();
    }
    await fetcher.close();
    expect(got.map((b) => b.toString('latin1'))).toEqual(TRICKY.map((b) => b.toString('latin1')));
    expect([...fake.committed].sort()).toEqual([1, 2, 3]);
  });

  it('bad credentials: EAUTH, even when the -ERR line comes in pieces', async () => {
    const fake = await fakePop3({ messages: TRICKY });
    const fetcher = await fetcherFor(fake.port, { password: 'nope' });
    const error = await fetcher.fetch().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StageError);
    expect((error as StageError).code).toBe('EAUTH');
    expect((error as StageError).message).toMatch(/Authentication failed/);
    await fetcher.close();
  });

  it('a server that dies mid-message once: a new session, every mail once, acks kept', async () => {
    const fake = await fakePop3({ messages: TRICKY, breakAt: { n: 2, how: 'die' } });
    const fetcher = await fetcherFor(fake.port);
    const got: string[] = [];
    for (let i = 0; i < 10; i++) {
      const fetched = await fetcher.fetch().catch((e: unknown) => e);
      if (fetched instanceof NothingMore) break;
      if (fetched instanceof Error) throw fetched;
      const { mail, ack } = fetched as { mail: { raw: Buffer }; ack(): Promise<void> };
      got.push(mail.raw.toString('latin1'));
      await ack();
    }
    await fetcher.close();
    expect(got).toEqual(TRICKY.map((b) => b.toString('latin1')));
    // Message 1 was acked in the session that died: the record made the new one delete it.
    expect([...fake.committed].sort()).toEqual([1, 2, 3]);
  });

  it('a server that dies mid-message every time: ECONNECTION after bounded retries', async () => {
    const fake = await fakePop3({ messages: TRICKY, breakAt: { n: 2, how: 'die', times: 99 } });
    const fetcher = await fetcherFor(fake.port, { reconnects: 2 });
    const first = await fetcher.fetch();
    await first.ack();
    const error = await fetcher.fetch().catch((e: unknown) => e);
    expect((error as StageError).code).toBe('ECONNECTION');
    expect((error as StageError).temporary).toBe(true);
    await fetcher.close();
    await fetcher.close();
    expect(fake.committed.size).toBe(0);
  });

  it('a server that goes silent mid-message: timed out, not hung', async () => {
    const fake = await fakePop3({ messages: TRICKY, breakAt: { n: 1, how: 'silent' } });
    const fetcher = await fetcherFor(fake.port, { timeout: 300, reconnects: 0 });
    const error = await fetcher.fetch().catch((e: unknown) => e);
    expect((error as StageError).code).toBe('ECONNECTION');
    expect((error as StageError).message).toMatch(/timed out/);
    await fetcher.close();
  });

  it('a LIST that understates the size: the stream guard stops at maxMailSize', async () => {
    const big = Buffer.from(`Subject: big\r\n\r\n${'x'.repeat(300)}\r\n`);
    const fake = await fakePop3({ messages: [big], listSize: 10 });
    const fetcher = await fetcherFor(fake.port, { maxMailSize: 100 });
    const error = await fetcher.fetch().catch((e: unknown) => e);
    expect((error as StageError).code).toBe('ESIZE');
    await fetcher.close();
    expect(fake.committed.size).toBe(0);
  });

  it('a server without STLS, when STARTTLS is asked for: ETLS, and no password sent', async () => {
    const fake = await fakePop3({ messages: TRICKY });
    const fetcher = await fetcherFor(fake.port, { tls: 'starttls' });
    const error = await fetcher.fetch().catch((e: unknown) => e);
    expect((error as StageError).code).toBe('ETLS');
    expect((error as StageError).message).toMatch(/refused STLS.*tls: implicit/);
    expect(fake.commands).not.toContain('PASS');
    await fetcher.close();
  });
});
