/**
 * Recording one bounce of a member, wherever it was learned (a DSN at the bounce address,
 * a 5xx at delivery time): score it, and at the threshold set the member to nomail (reason
 * `bounce`) and say what to tell whom. Non-members are ignored; a member already on
 * nomail is only scored. Idempotent: the same bounce key is never counted twice, and the
 * nomail change is a no-op the second time.
 */
import type { MemberStore } from '../members/store.ts';
import { addBounce, type BounceRecord, type BounceScoreOptions, overThreshold } from './score.ts';
import type { BounceClass } from './severity.ts';
import type { BounceState } from './state.ts';

export interface BounceEvent {
  address: string;
  class: BounceClass;
  action: 'failed' | 'delayed';
  /** Identifies the bounce (the bounce mail's key, or post key + recipient). */
  key: string;
  diagnostic?: string;
}

export interface BounceOutcome {
  /** What happened: not a member, scored, or disabled now. */
  result: 'not-member' | 'scored' | 'disabled';
  address: string;
  record?: BounceRecord;
}

export async function recordBounce(
  event: BounceEvent,
  store: MemberStore,
  state: BounceState,
  options: BounceScoreOptions,
  now: number,
): Promise<BounceOutcome> {
  const member = await store.get(event.address);
  if (!member) return { result: 'not-member', address: event.address };
  const record = await state.change(event.address, (old) => addBounce(old, event, now, options));
  if (!record || !overThreshold(record, options))
    return { result: 'scored', address: member.address, record };
  if (member.nomail) return { result: 'scored', address: member.address, record };
  await store.update(member.address, { nomail: true, nomail_reason: 'bounce' });
  const marked = await state.change(event.address, (old) =>
    old ? { ...old, disabled_at: old.disabled_at ?? now } : old,
  );
  return { result: 'disabled', address: member.address, record: marked };
}
