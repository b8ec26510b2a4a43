/**
 * A DNS server for tests that answers TXT questions from a map, on 127.0.0.1 (UDP, a free
 * port), so a `malist` process started by a test (malist.yaml `dns: { servers: [127.0.0.1:PORT] }`)
 * finds the test domains' DKIM keys and DMARC records without asking real DNS. A name it
 * has no TXT record for is NXDOMAIN; another type of a known name is an empty answer.
 *
 * Hand-written because it is ~50 lines of RFC 1035 section 4 for one record type, and no
 * DNS server package is among the project's dependencies; production code never uses it.
 */
import { createSocket } from 'node:dgram';

export interface DnsStub {
  /** `127.0.0.1:PORT`, for malist.yaml's `dns.servers`. */
  readonly address: string;
  /** Replaces or adds TXT records (name → text). */
  set(records: Record<string, string>): void;
  /** Every name asked so far (lower case, no trailing dot). */
  readonly asked: string[];
  close(): Promise<void>;
}

const TXT = 16;

/** The question's name, its end offset, and its type. */
function question(msg: Buffer): { name: string; end: number; type: number } {
  const labels: string[] = [];
  let at = 12;
  while (msg[at]! > 0) {
    labels.push(msg.subarray(at + 1, at + 1 + msg[at]!).toString('latin1'));
    at += 1 + msg[at]!;
  }
  return { name: labels.join('.').toLowerCase(), end: at + 5, type: msg.readUInt16BE(at + 1) };
}

/** TXT RDATA: the text in character-strings of at most 255 bytes. */
function txtData(text: string): Buffer {
  const bytes = Buffer.from(text, 'latin1');
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length || i === 0; i += 255) {
    const chunk = bytes.subarray(i, i + 255);
    parts.push(Buffer.from([chunk.length]), chunk);
  }
  return Buffer.concat(parts);
}

function answer(query: Buffer, records: Map<string, string>, asked: string[]): Buffer {
  const q = question(query);
  asked.push(q.name);
  const text = records.get(q.name);
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2);
  // QR, the query's RD, RA; rcode 3 (NXDOMAIN) for an unknown name.
  header.writeUInt16BE(0x8080 | (query.readUInt16BE(2) & 0x0100) | (text === undefined ? 3 : 0), 2);
  header.writeUInt16BE(1, 4);
  const rr: Buffer[] = [];
  if (text !== undefined && q.type === TXT) {
    const data = txtData(text);
    const fixed = Buffer.alloc(12);
    fixed.writeUInt16BE(0xc00c, 0); // the question's name
    fixed.writeUInt16BE(TXT, 2);
    fixed.writeUInt16BE(1, 4); // IN
    fixed.writeUInt32BE(60, 6);
    fixed.writeUInt16BE(data.length, 10);
    rr.push(fixed, data);
    header.writeUInt16BE(1, 6);
  }
  return Buffer.concat([header, query.subarray(12, q.end), ...rr]);
}

/** Starts a DNS stub serving `records` (TXT, by name). */
export async function startDnsStub(records: Record<string, string> = {}): Promise<DnsStub> {
  const table = new Map<string, string>();
  const set = (more: Record<string, string>) => {
    for (const [name, text] of Object.entries(more))
      table.set(name.toLowerCase().replace(/\.$/, ''), text);
  };
  set(records);
  const asked: string[] = [];
  const socket = createSocket('udp4');
  socket.on('message', (msg, peer) => {
    if (msg.length < 17) return;
    socket.send(answer(msg, table, asked), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${socket.address().port}`,
    set,
    asked,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
