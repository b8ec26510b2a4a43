/**
 * A fast SMTP sink for the benchmark: a raw `net` server (not the smtp-server package,
 * which would be the bottleneck) that speaks just enough ESMTP — PIPELINING, 8BITMIME,
 * SIZE — to take mail from any client, counts transactions, recipients and bytes, and can
 * refuse chosen recipients with 550 or defer them with 451. Replies to everything a chunk
 * of input held go out in one write, so a pipelining client is never slowed by it.
 * `bench/blaster.ts` measures its ceiling in the same run.
 */
import { createServer, type Server, type Socket } from 'node:net';

export interface SinkOptions {
  /** Recipients refused with 550 (permanent). */
  refuse?: (address: string) => boolean;
  /** Recipients deferred with 451; with `deferOnce`, only the first time each is seen. */
  defer?: (address: string) => boolean;
  deferOnce?: boolean;
  /** Advertised SIZE. @default 100 MiB */
  size?: number;
}

export interface SinkStats {
  connections: number;
  /** Transactions ended by a 250 after the message. */
  transactions: number;
  /** Recipients of those transactions. */
  recipients: number;
  /** Message bytes received (dot-stuffed, with the terminating line). */
  bytes: number;
  refused: number;
  deferred: number;
  /** performance.timeOrigin + now() of the last accepted message (epoch ms, sub-ms precision). */
  lastAcceptAt: number;
  /** Accepted recipients per address, when `track` is on. */
  perRecipient?: Map<string, number>;
}

export interface Sink {
  readonly port: number;
  readonly stats: SinkStats;
  /** Zeroes the counters (between benchmark cases). */
  reset(options?: { track?: boolean }): void;
  configure(options: SinkOptions): void;
  close(): Promise<void>;
}

const now = () => performance.timeOrigin + performance.now();
const TERM = Buffer.from('\r\n.\r\n');

function emptyStats(track: boolean): SinkStats {
  return {
    connections: 0,
    transactions: 0,
    recipients: 0,
    bytes: 0,
    refused: 0,
    deferred: 0,
    lastAcceptAt: 0,
    ...(track ? { perRecipient: new Map() } : {}),
  };
}

/** Starts the sink on 127.0.0.1 (a free port unless `port` is given). */
export async function startSink(initial: SinkOptions = {}, port = 0): Promise<Sink> {
  let options = initial;
  let stats = emptyStats(false);
  let deferredOnce = new Set<string>();
  const sockets = new Set<Socket>();

  const handle = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.setNoDelay(true);
    stats.connections++;
    let inData = false;
    let text = '';
    let tail = Buffer.alloc(0);
    let accepted: string[] = [];
    let sender: string | undefined;
    let dataBytes = 0;
    const size = options.size ?? 100 * 1024 * 1024;
    socket.write('220 sink.test ESMTP malist-bench sink\r\n');

    const command = (line: string, out: string[]): boolean => {
      const verb = line.slice(0, 4).toUpperCase();
      if (verb === 'MAIL') {
        sender = line.slice(10);
        accepted = [];
        out.push('250 2.1.0 Ok\r\n');
      } else if (verb === 'RCPT') {
        if (sender === undefined) {
          out.push('503 5.5.1 need MAIL first\r\n');
          return true;
        }
        const open = line.indexOf('<');
        const close = line.indexOf('>', open);
        const address = line.slice(open + 1, close);
        if (options.refuse?.(address)) {
          stats.refused++;
          out.push('550 5.1.1 no such user here\r\n');
        } else if (options.defer?.(address) && !(options.deferOnce && deferredOnce.has(address))) {
          deferredOnce.add(address);
          stats.deferred++;
          out.push('451 4.2.0 try again later\r\n');
        } else {
          accepted.push(address);
          out.push('250 2.1.5 Ok\r\n');
        }
      } else if (verb === 'DATA') {
        if (accepted.length === 0) out.push('554 5.5.1 no valid recipients\r\n');
        else {
          inData = true;
          dataBytes = 0;
          // The terminator may follow the 354 at once: the data starts at a line start.
          tail = Buffer.from('\r\n');
          out.push('354 End data with <CR><LF>.<CR><LF>\r\n');
        }
      } else if (verb === 'EHLO') {
        out.push(
          `250-sink.test\r\n250-PIPELINING\r\n250-SIZE ${size}\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n`,
        );
      } else if (verb === 'HELO') out.push('250 sink.test\r\n');
      else if (verb === 'RSET') {
        sender = undefined;
        accepted = [];
        out.push('250 2.0.0 Ok\r\n');
      } else if (verb === 'NOOP') out.push('250 2.0.0 Ok\r\n');
      else if (verb === 'QUIT') {
        out.push('221 2.0.0 Bye\r\n');
        return false;
      } else out.push('502 5.5.2 command not recognised\r\n');
      return true;
    };

    const finishData = (out: string[]) => {
      inData = false;
      stats.transactions++;
      stats.recipients += accepted.length;
      stats.bytes += dataBytes;
      if (stats.perRecipient) {
        for (const a of accepted) stats.perRecipient.set(a, (stats.perRecipient.get(a) ?? 0) + 1);
      }
      stats.lastAcceptAt = now();
      sender = undefined;
      accepted = [];
      out.push('250 2.0.0 Ok: queued\r\n');
    };

    socket.on('data', (chunk: Buffer) => {
      const out: string[] = [];
      let offset = 0;
      let open = true;
      while (offset < chunk.length && open) {
        if (inData) {
          // The terminator may straddle chunks: look at the last bytes of the previous one too.
          const seam = Buffer.concat([tail, chunk.subarray(offset, offset + 4)]);
          const inSeam = seam.indexOf(TERM);
          let end = -1;
          if (inSeam !== -1) end = offset + inSeam + TERM.length - tail.length;
          else {
            const at = chunk.indexOf(TERM, offset);
            if (at !== -1) end = at + TERM.length;
          }
          if (end === -1) {
            dataBytes += chunk.length - offset;
            const all = chunk.subarray(Math.max(offset, chunk.length - 4));
            tail = Buffer.concat([tail, all]).subarray(-4);
            offset = chunk.length;
            break;
          }
          dataBytes += end - offset;
          offset = end;
          finishData(out);
          continue;
        }
        const nl = chunk.indexOf(10, offset);
        if (nl === -1) {
          text += chunk.toString('latin1', offset);
          offset = chunk.length;
          if (text.length > 100_000) socket.destroy();
          break;
        }
        const line = (text + chunk.toString('latin1', offset, nl)).replace(/\r$/, '');
        text = '';
        offset = nl + 1;
        open = command(line, out);
      }
      if (out.length > 0) socket.write(out.join(''));
      if (!open) socket.end();
    });
  };

  const server: Server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('sink: no port');

  return {
    port: address.port,
    get stats() {
      return stats;
    },
    reset(opts = {}) {
      stats = emptyStats(opts.track ?? false);
      deferredOnce = new Set();
    },
    configure(next) {
      options = next;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
