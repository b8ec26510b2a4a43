/**
 * The delivery log's line, written and read in one place: the CLI appends one per finished
 * mail copy (cli/delivery-log.ts), the web front's statistics read them back
 * (web/stats-data.ts) —
 * `2026-11-23T20:55:00.000Z list=red outcome=distributed recipients=6 refused=0 deferred=6
 * delivered=0 queued=6 message-id=<id@example.com> reply="535 5.7.8 authentication failed"`.
 */
import { isoTime } from '../mail/iso-time.ts';

export interface DeliveryLineFields {
  time: Date;
  list: string;
  /** distributed, partial, held, rejected, … or `queue-run` (a queue run's retries). */
  outcome: string;
  delivered: number;
  queued: number;
  refused: number;
  deferred: number;
  /** Absent on a queue-run line (it covers many posts). */
  messageId?: string | undefined;
  reply?: string | undefined;
  reason?: string | undefined;
  notes?: string | undefined;
}

/** The one line (with its newline) of `fields`. */
export function formatDeliveryLine(f: DeliveryLineFields): string {
  const id = f.messageId === undefined ? '' : ` message-id=<${f.messageId.replace(/[\s<>]/g, '')}>`;
  return (
    `${isoTime(f.time.getTime())} list=${f.list} outcome=${f.outcome}` +
    ` recipients=${f.delivered + f.queued} refused=${f.refused} deferred=${f.deferred}` +
    ` delivered=${f.delivered} queued=${f.queued}${id}` +
    `${optional('reply', f.reply)}${optional('reason', f.reason)}${optional('notes', f.notes)}\n`
  );
}

function optional(name: string, text: string | undefined): string {
  return text ? ` ${name}=${quoted(text)}` : '';
}

/** A JSON string cut at 300 characters, with a marker when cut. */
function quoted(text: string): string {
  return JSON.stringify(text.length > 300 ? `${text.slice(0, 299)}…` : text);
}

/** What the statistics need of a line: its day, list, outcome, counts and Message-ID. */
export interface DeliveryLineCounts {
  /** YYYY-MM-DD (UTC). */
  day: string;
  list: string;
  outcome: string;
  /** delivered + queued: older lines have only this. */
  recipients: number;
  refused: number;
  deferred: number;
  /** `<id>`, or undefined when the line names none (or an empty one). */
  messageId: string | undefined;
}

// `delivered=… queued=…` are optional: lines written before they existed still count.
const LINE =
  /^(\d{4}-\d\d-\d\d)T\S+ list=(\S+) outcome=(\S+) recipients=(\d+) refused=(\d+) deferred=(\d+)(?: delivered=\d+ queued=\d+)?(?: message-id=(<[^>\s]*>))?/;

/** The counts of one delivery-log line, or undefined when it is not one. */
export function parseDeliveryLine(line: string): DeliveryLineCounts | undefined {
  const m = LINE.exec(line);
  if (!m) return undefined;
  return {
    day: m[1]!,
    list: m[2]!,
    outcome: m[3]!,
    recipients: Number(m[4]),
    refused: Number(m[5]),
    deferred: Number(m[6]),
    messageId: m[7] && m[7] !== '<>' ? m[7] : undefined,
  };
}
