/**
 * The delivery log: one line per finished mail copy, for an operator to grep —
 * `2026-11-23T20:55:00.000Z list=red outcome=distributed recipients=3 refused=0 deferred=0
 * message-id=<id@example.com>`. Fed from `play()`'s `onOutcome`.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { messageId } from '../mail/list-mail.ts';
import type { OutcomeEvent } from '../play.ts';

export interface DeliveryLogOptions {
  /** The log file, appended to (created with its directory). */
  file: string;
}

export interface DeliveryLog {
  /** Queues one line; never throws (a failed write is reported by `flush`). */
  record(event: OutcomeEvent): void;
  /** Waits for every queued line; rejects with the first write error. */
  flush(): Promise<void>;
}

/** The one-line form of an outcome. */
export function deliveryLine(event: OutcomeEvent, now = new Date()): string {
  const results = event.report?.results ?? [];
  const count = (status: string) =>
    new Set(results.filter((r) => r.status === status).map((r) => r.recipient)).size;
  const recipients = count('delivered') + count('queued');
  const id = messageId(event.mail) ?? '';
  const reason = event.reason ? ` reason=${JSON.stringify(event.reason.slice(0, 300))}` : '';
  const notes = event.mail.ml_notes?.length
    ? ` notes=${JSON.stringify(event.mail.ml_notes.join('; ').slice(0, 300))}`
    : '';
  return (
    `${now.toISOString()} list=${event.list} outcome=${event.outcome} recipients=${recipients}` +
    ` refused=${count('failed')} deferred=${count('deferred')}` +
    ` message-id=<${id.replace(/[\s<>]/g, '')}>${reason}${notes}\n`
  );
}

/** A delivery log appending to `file`; lines are written in order, one append each. */
export default function createDeliveryLog(options: DeliveryLogOptions): DeliveryLog {
  let chain: Promise<void> = mkdir(dirname(options.file), { recursive: true }).then(() => {});
  let firstError: unknown;
  return {
    record(event) {
      const line = deliveryLine(event);
      chain = chain
        .then(() => appendFile(options.file, line, { mode: 0o640 }))
        .catch((error: unknown) => {
          firstError ??= error;
        });
    },
    async flush() {
      await chain;
      if (firstError !== undefined) throw firstError;
    },
  };
}
