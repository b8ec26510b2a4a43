/**
 * The delivery log: one line per finished mail copy, for an operator to grep (its form,
 * written and read in one place: state/delivery-log-line.ts).
 * `recipients` is delivered + queued (the field older readers know); `deferred` counts the
 * recipients the server or the network deferred this time, queued ones included; `reply` is
 * the last server answer (why they are queued, or the 250). Fed from `play()`'s `onOutcome`,
 * and one `list=… outcome=queue-run` line per list a queue run retried.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { messageId } from '../mail/list-mail.ts';
import type { OutcomeEvent } from '../play.ts';
import { formatDeliveryLine } from '../state/delivery-log-line.ts';
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
  return formatDeliveryLine({
    ...lineCounts(c),
    time: now,
    list: event.list,
    outcome: event.outcome,
    messageId: messageId(event.mail) ?? '',
    reason: event.reason,
    notes: event.mail.ml_notes?.length ? event.mail.ml_notes.join('; ') : undefined,
  });
}

/** The line of a queue run's retries of one list's entries. */
export function retryLine(list: string, c: OutcomeCounts, now = new Date()): string {
  return formatDeliveryLine({ ...lineCounts(c), time: now, list, outcome: 'queue-run' });
}

/** The counts, and the reason recipients wait, else the refusal, else the last answer. */
function lineCounts(c: OutcomeCounts) {
  return {
    delivered: c.delivered,
    queued: c.queued,
    refused: c.refused,
    deferred: c.deferred,
    reply: c.reply ?? c.refusal ?? c.last,
  };
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
