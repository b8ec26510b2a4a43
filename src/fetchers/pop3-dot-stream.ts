/**
 * Byte-exact reading of a POP3 multi-line response body (RFC 1939 §3): removes the byte
 * stuffing (a line starting with "." lost its first dot) and finds the terminating "." line,
 * wherever the network splits the bytes. Nothing is decoded: 8-bit bytes, bare CR and bare
 * LF pass through untouched.
 *
 * A line starts after LF, as Python's poplib reads it: a server that stores bare LF stuffs
 * the dots after it. The terminator is "." followed by CRLF (or a bare LF, tolerated).
 */

const DOT = 0x2e;
const CR = 0x0d;
const LF = 0x0a;

type State = 'line-start' | 'mid-line' | 'dot' | 'dot-cr' | 'done';

export interface DotChunk {
  /** Unstuffed message bytes from this chunk (slices of the input, in order). */
  data: Buffer[];
  /** True once the terminating line has been read. */
  done: boolean;
  /** Bytes that followed the terminator in this chunk (a well-behaved server sends none). */
  rest?: Buffer;
}

/** A streaming dot-unstuffer: feed it the bytes after the "+OK" line, chunk by chunk. */
export class DotUnstuffer {
  private state: State = 'line-start';

  /** True once the terminator has been seen. */
  get done(): boolean {
    return this.state === 'done';
  }

  push(chunk: Buffer): DotChunk {
    const data: Buffer[] = [];
    let pos = 0;
    const n = chunk.length;
    while (pos < n) {
      switch (this.state) {
        case 'done':
          return { data, done: true, rest: chunk.subarray(pos) };
        case 'line-start': {
          if (chunk[pos] === DOT) {
            // Held back until we know whether it is the terminator or a stuffed dot.
            this.state = 'dot';
            pos += 1;
          } else {
            this.state = 'mid-line';
          }
          break;
        }
        case 'mid-line': {
          const lf = chunk.indexOf(LF, pos);
          if (lf === -1) {
            data.push(chunk.subarray(pos));
            pos = n;
          } else {
            data.push(chunk.subarray(pos, lf + 1));
            pos = lf + 1;
            this.state = 'line-start';
          }
          break;
        }
        case 'dot': {
          const byte = chunk[pos];
          if (byte === CR) {
            this.state = 'dot-cr';
            pos += 1;
          } else if (byte === LF) {
            this.state = 'done';
            pos += 1;
          } else {
            // A stuffed line: the first dot is dropped (RFC 1939), the rest is content.
            this.state = 'mid-line';
          }
          break;
        }
        case 'dot-cr': {
          if (chunk[pos] === LF) {
            this.state = 'done';
            pos += 1;
          } else {
            // ".\r" followed by more: the dot was stuffing, the CR is content.
            data.push(Buffer.from([CR]));
            this.state = 'mid-line';
          }
          break;
        }
      }
    }
    if (this.state === 'done') return { data, done: true, rest: chunk.subarray(pos) };
    return { data, done: false };
  }
}
