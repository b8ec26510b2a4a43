/**
 * The sent-log: one append-only file per entry, one fsynced line per settled recipient,
 * written right after the server's answer and before the envelope is updated. After a
 * crash in between, the recipients it names count as settled and are not sent again.
 * It is kept with the entry's done record for the retention period.
 */
import { writeSync } from 'node:fs';
import { type FileHandle, open, readFile } from 'node:fs/promises';
import type { RecipientResult } from '../types.ts';

interface Line {
  r: string;
  s: 'delivered' | 'failed';
  c?: number;
  m?: string;
  t: number;
}

/**
 * The first line of a sent-log: which entry and post it is about, for an operator (and
 * because a post finished in its first round leaves no other record naming it).
 */
export interface SentLogHeader {
  id: string;
  message_id?: string;
  list?: string;
}

function linesOf(results: RecipientResult[], now: number): string[] {
  return results
    .filter((r) => r.status === 'delivered' || r.status === 'failed')
    .map((r) => {
      const line: Line = { r: r.recipient, s: r.status as Line['s'], t: now };
      if (r.code !== undefined) line.c = r.code;
      if (r.response) line.m = r.response.slice(0, 500);
      // Each record starts with a newline: a record torn by a crash mid-append stays on a
      // line of its own instead of spoiling the next one.
      return `\n${JSON.stringify(line)}`;
    });
}

/**
 * One round's appends to a sent-log, through one open file: each `append` is on disk
 * (fdatasync) when it resolves. The file is opened at the first append that has a line,
 * with `header` first when the file is new; `close` ends the round.
 */
export class SentLogWriter {
  #handle: FileHandle | undefined;
  constructor(
    readonly path: string,
    private readonly header?: SentLogHeader,
  ) {}

  async append(results: RecipientResult[], now = Date.now()): Promise<void> {
    const lines = linesOf(results, now);
    if (lines.length === 0) return;
    if (!this.#handle) {
      this.#handle = await open(this.path, 'a', 0o640);
      if (this.header && (await this.#handle.stat()).size === 0)
        lines.unshift(`\n${JSON.stringify({ header: this.header })}`);
    }
    // Into the page cache at once (a few microseconds, no thread-pool round trip); the
    // wait is for the disk. The size changes with every append, so fdatasync writes it
    // too: all a reader needs.
    writeSync(this.#handle.fd, lines.join(''));
    await this.#handle.datasync();
  }

  async close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close();
  }
}

/**
 * Appends the settled results (delivered/failed) durably; deferred ones are not recorded.
 * `header` is written first when the file is new.
 */
export async function appendSentLog(
  path: string,
  results: RecipientResult[],
  now = Date.now(),
  header?: SentLogHeader,
): Promise<void> {
  const writer = new SentLogWriter(path, header);
  try {
    await writer.append(results, now);
  } finally {
    await writer.close();
  }
}

/** One settled recipient as the sent-log has it, with the time of the answer. */
export interface SentLogRecord {
  recipient: string;
  status: 'delivered' | 'failed';
  code?: number;
  response?: string;
  /** When the answer came (ms). */
  at: number;
}

/**
 * A sent-log as written: its header (when the file has one) and every whole record in
 * order; an absent file has none.
 */
export async function readSentLogRecords(
  path: string,
): Promise<{ header?: SentLogHeader; records: SentLogRecord[] }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { records: [] };
    throw error;
  }
  let header: SentLogHeader | undefined;
  const records: SentLogRecord[] = [];
  for (const raw of text.split('\n')) {
    // A torn last line (crash mid-append, before fsync returned) was never acknowledged.
    if (!raw) continue;
    let line: Line & { header?: SentLogHeader };
    try {
      line = JSON.parse(raw) as Line & { header?: SentLogHeader };
    } catch {
      continue;
    }
    if (typeof line.r !== 'string') {
      header ??= line.header;
      continue;
    }
    records.push({
      recipient: line.r,
      status: line.s,
      at: line.t,
      ...(line.c !== undefined ? { code: line.c } : {}),
      ...(line.m !== undefined ? { response: line.m } : {}),
    });
  }
  return { ...(header ? { header } : {}), records };
}

/** The settled recipients in a sent-log (lower-cased address → result); empty when absent. */
export async function readSentLog(
  path: string,
  distributor: string,
): Promise<Map<string, RecipientResult>> {
  return settledResults((await readSentLogRecords(path)).records, distributor);
}

/** A sent-log record as the recipient's result. */
export function resultOf(
  { recipient, status, code, response }: SentLogRecord,
  distributor: string,
): RecipientResult {
  return {
    recipient,
    status,
    distributor,
    ...(code !== undefined ? { code } : {}),
    ...(response !== undefined ? { response } : {}),
  };
}

/** Each recipient's settled result by lower-cased address (`applySettled`'s input). */
export function settledResults(
  records: readonly SentLogRecord[],
  distributor: string,
): Map<string, RecipientResult> {
  const settled = new Map<string, RecipientResult>();
  for (const r of records) settled.set(r.recipient.toLowerCase(), resultOf(r, distributor));
  return settled;
}
