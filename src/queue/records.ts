/**
 * Finished entries and dead letters moved between stores (`malist storage migrate`): the
 * pure steps both backends share, over a QueueRecord (store.ts).
 */
import type { RecipientResult } from '../types.ts';
import { applySettled, type Envelope, type RecipientRecord } from './envelope.ts';
import { resultOf, type SentLogRecord, settledResults } from './sent-log.ts';
import type { QueueRecord } from './store.ts';

/** The sent-log's records grouped by the time of their answer (each group one append). */
export function sentByTime(records: SentLogRecord[]): Map<number, RecipientResult[]> {
  const out = new Map<number, RecipientResult[]>();
  for (const r of records) {
    const group = out.get(r.at) ?? [];
    group.push(resultOf(r, 'queue'));
    out.set(r.at, group);
  }
  return out;
}

/** The recipients a dead letter's envelope gave up on. */
export function givenUp(envelope: Envelope): RecipientRecord[] {
  return envelope.recipients.filter((r) => r.state === 'failed');
}

/**
 * A dead letter's whole envelope: the entry's recipients with the sent-log applied and the
 * ones given up on failed with their last answer (as a dead letter is written in a round).
 */
export function deadEnvelope(record: QueueRecord): Envelope {
  const envelope = structuredClone(record.envelope);
  applySettled(envelope, settledResults(record.sent, 'queue'));
  const byAddress = new Map(envelope.recipients.map((r) => [r.address.toLowerCase(), r]));
  for (const d of record.dead?.recipients ?? []) {
    const r = byAddress.get(d.address.toLowerCase());
    if (r) Object.assign(r, { ...d, attempts: Math.max(r.attempts, d.attempts) });
    else envelope.recipients.push({ ...d });
  }
  return envelope;
}
