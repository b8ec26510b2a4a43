/**
 * `type: stdin` — one mail from standard input, as procmail or an MTA pipe hands it over.
 * There is nothing to remove from a pipe: the exit code tells the MTA the mail is handled.
 */
import { readSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { NothingMore, StageError } from '../errors.ts';
import { lazySchema } from '../mail/deferred-option.ts';
import { createListMail } from '../mail/list-mail.ts';
import { optionalPositiveInt } from '../mail/shared-options.ts';
import type { Fetched, Fetcher } from '../types.ts';

export interface StdinOptions {
  /** Where to read from. @default process.stdin */
  input?: Readable;
  /**
   * The mail, already read (`malist receive` and `malist lmtp` have it whole): taken as it
   * is, with no stream to read it through (Node compiles a stream's async iterator afresh in
   * every process: ~1% of a receive). Wins over `input`.
   */
  raw?: Buffer;
  /** The envelope recipient, when the MTA passes it (routes `many-lists`). */
  recipient?: string;
  /** The envelope sender, when the MTA passes it ('' for the null sender <>; SPF checks its domain). */
  sender?: string;
  /** The SMTP client the MTA received the mail from (SPF checks its IP and HELO). */
  client?: { ip: string; helo?: string };
  /** Refuse larger input (the MTA gets a clear error). @default 50 MiB */
  maxMailSize?: number;
}

/** The options of `type: stdin` as written in YAML, checked before the factory runs; the output is the factory's options. */
export const schema = lazySchema(() =>
  z
    .strictObject({ max_mail_size: optionalPositiveInt })
    .transform(({ max_mail_size }) => (max_mail_size ? { maxMailSize: max_mail_size } : {})),
);

function tooLarge(max: number): StageError {
  return new StageError(`message larger than maxMailSize (${max} bytes)`, {
    code: 'ESIZE',
    unit: 'stdin',
  });
}

/** Bytes a read of standard input asks for. */
const READ_CHUNK = 256 * 1024;

/**
 * The whole of `input` (after `chunks`, already read); refused past `max` bytes, as soon as
 * they are read.
 */
async function readAll(input: Readable, max: number, chunks: Buffer[] = []): Promise<Buffer> {
  let size = chunks.reduce((n, c) => n + c.length, 0);
  for await (const chunk of input) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += buf.length;
    if (size > max) throw tooLarge(max);
    chunks.push(buf);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/**
 * The process's standard input whole, refused past `max` bytes: read from fd 0 with
 * readSync, for a process that reads one mail and has nothing else to do meanwhile
 * (`process.stdin` builds a stream and an async iterator whose code Node compiles afresh in
 * every process: ~2% of a `malist receive`'s instructions, callgrind). Where fd 0 does not
 * block (EAGAIN: a non-blocking pipe or socket), the rest is read through process.stdin,
 * after what was already read.
 */
export async function readStandardInput(max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for (;;) {
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    let n: number;
    try {
      n = readSync(0, buf, 0, READ_CHUNK, null);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EOF') break;
      if (code !== 'EAGAIN') throw error;
      return readAll(process.stdin, max, chunks);
    }
    if (n === 0) break;
    size += n;
    if (size > max) throw tooLarge(max);
    chunks.push(n === READ_CHUNK ? buf : buf.subarray(0, n));
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/** Reads the whole input once; the second `fetch()` throws `NothingMore`. */
export default function createStdinFetcher(options: StdinOptions = {}): Fetcher {
  const max = options.maxMailSize ?? 50 * 1024 * 1024;
  let done = false;
  return {
    name: 'stdin',
    async fetch(): Promise<Fetched> {
      if (done) throw new NothingMore();
      done = true;
      // process.stdin only when read: its getter alone builds the stream.
      const raw = options.raw ?? (await readAll(options.input ?? process.stdin, max));
      if (raw.length > max) throw tooLarge(max);
      if (raw.length === 0) throw new NothingMore('standard input was empty');
      const mail = createListMail(raw, {
        fetcher: 'stdin',
        id: 'stdin',
        recipient: options.recipient,
        ...(options.sender !== undefined ? { sender: options.sender } : {}),
        ...(options.client ? { client: options.client } : {}),
      });
      return { mail, ack: async () => {} };
    },
    async close() {},
  };
}
