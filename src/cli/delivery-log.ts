/**
 * The delivery log: one line per finished mail copy, for an operator to grep —
 * `2026-11-23T20:55:00.000Z list=red outcome=distributed recipients=6 refused=0 deferred=6
 * delivered=0 queued=6 message-id=<id@example.com> reply="535 5.7.8 authentication failed"`.
 * `recipients` is delivered + queued (the field older readers know); `deferred` counts the
 * recipients the server or the network deferred this time, queued ones included; `reply` is
 * the last server answer (why they are queued, or the 250). Fed from `play()`'s `onOutcome`,
 * and one `list=… outcome=queue-run` line per list a queue run retried.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { messageId } from '../mail/list-mail.ts';
import type { OutcomeEvent } from '../play.ts';
import { countOutcome, type OutcomeCounts } from './outcome-counts.ts';

export interface DeliveryLogOptions {
  /** The log file, appended to (created with its directory). */
  file: string;
}

export interface DeliveryLog {
  /** Queues one line; never throws (a failed write is reported by `flush`). */
  record(event: OutcomeEvent): void;
  /** Queues the line of a queue run's retries of one list (no Message-ID: many posts). */
  recordRetries(list: string, counts: OutcomeCounts): void;
  /** Waits for every queued line; rejects with the first write error. */
  flush(): Promise<void>;
}

/** The one-line form of an outcome. */
export function deliveryLine(event: OutcomeEvent, now = new Date()): string {
  const c = countOutcome(event.report?.results ?? []);
  const id = messageId(event.mail) ?? '';
  const reason = event.reason ? ` reason=${quoted(event.reason)}` : '';
  const notes = event.mail.ml_notes?.length
    ? ` notes=${quoted(event.mail.ml_notes.join('; '))}`
    : '';
  return (
    `${now.toISOString()} list=${event.list} outcome=${event.outcome} ${countFields(c)}` +
    ` message-id=<${id.replace(/[\s<>]/g, '')}>${replyField(c)}${reason}${notes}\n`
  );
}

/** The line of a queue run's retries of one list's entries. */
export function retryLine(list: string, c: OutcomeCounts, now = new Date()): string {
  return `${now.toISOString()} list=${list} outcome=queue-run ${countFields(c)}${replyField(c)}\n`;
}

function countFields(c: OutcomeCounts): string {
  return (
    `recipients=${c.delivered + c.queued} refused=${c.refused} deferred=${c.deferred}` +
    ` delivered=${c.delivered} queued=${c.queued}`
  );
}

/** The reason recipients wait, else the refusal, else the last answer (a 250). */
function replyField(c: OutcomeCounts): string {
  const reply = c.reply ?? c.refusal ?? c.last;
  return reply ? ` reply=${quoted(reply)}` : '';
}

/** A JSON string cut at 300 characters, with a marker when cut. */
function quoted(text: string): string {
  return JSON.stringify(text.length > 300 ? `${text.slice(0, 299)}…` : text);
}

/** A delivery log appending to `file`; lines are written in order, one append each. */
export default function createDeliveryLog(options: DeliveryLogOptions): DeliveryLog {
  let chain: Promise<void> = mkdir(dirname(options.file), { recursive: true }).then(() => {});
  let firstError: unknown;
  const append = (line: string) => {
    chain = chain
      .then(() => appendFile(options.file, line, { mode: 0o640 }))
      .catch((error: unknown) => {
        firstError ??= error;
      });
  };
  return {
    record: (event) => append(deliveryLine(event)),
    recordRetries: (list, counts) => append(retryLine(list, counts)),
    async flush() {
      await chain;
      if (firstError !== undefined) throw firstError;
    },
  };
}
