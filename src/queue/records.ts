/**
 * Finished entries and dead letters moved between stores (`malist storage migrate`): the
 * pure steps both backends share, over a QueueRecord (store.ts).
 */
import type { RecipientResult } from '../types.ts';
import type { Envelope, RecipientRecord } from './envelope.ts';
import type { SentLogRecord } from './sent-log.ts';
import type { QueueRecord } from './store.ts';

/** The sent-log's records grouped by the time of their answer (each group one append). */
export function sentByTime(records: SentLogRecord[]): Map<number, RecipientResult[]> {
  const out = new Map<number, RecipientResult[]>();
  for (const r of records) {
    const group = out.get(r.at) ?? [];
    group.push({
      recipient: r.recipient,
      status: r.status,
      distributor: 'queue',
      ...(r.code !== undefined ? { code: r.code } : {}),
      ...(r.response !== undefined ? { response: r.response } : {}),
    });
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
  const byAddress = new Map(envelope.recipients.map((r) => [r.address.toLowerCase(), r]));
  for (const s of record.sent) {
    const r = byAddress.get(s.recipient.toLowerCase());
    if (!r) continue;
    r.state = s.status;
    if (s.code !== undefined) r.code = s.code;
    if (s.response !== undefined) r.response = s.response;
  }
  for (const d of record.dead?.recipients ?? []) {
    const r = byAddress.get(d.address.toLowerCase());
    if (r) Object.assign(r, { ...d, attempts: Math.max(r.attempts, d.attempts) });
    else envelope.recipients.push({ ...d });
  }
  return envelope;
}
