/**
 * Recording one bounce of a member, wherever it was learned (a report at the bounce
 * address proven by its VERP cookie or by the sent index, a 5xx at delivery time): score
 * it, and at the threshold start a probe rather than disable; set the member to nomail
 * (reason `bounce`) only when the bounce is of that probe. Non-members are ignored; a
 * member already on nomail is only scored. Idempotent: the same bounce key is never
 * counted twice, and a replay of the disabling bounce changes nothing.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { MemberStore } from '../members/store.ts';
import {
  addBounce,
  type BounceRecord,
  type BounceScoreOptions,
  type CountedBounce,
  overThreshold,
  type PendingProbe,
  settleProbe,
} from './score.ts';
import type { BounceStore } from './store.ts';

export interface BounceEvent extends CountedBounce {
  address: string;
  /** The bounce is of a probe: the nonce its cookie proved, or the mail key it was refused for. */
  probe?: { nonce?: string; key?: string };
}

export interface BounceOutcome {
  /**
   * What happened: not a member, counted already (`repeat`), scored, a probe is due
   * (`probe`: send `probe`), or the probe bounced and the member is set to nomail now.
   */
  result: 'not-member' | 'repeat' | 'scored' | 'probe' | 'disabled';
  /** The member's address as the store has it. */
  address: string;
  record?: BounceRecord;
  /** The probe to send (`result: 'probe'`). */
  probe?: PendingProbe;
}

/** A stable key made of parts (a sha256, like every ListMail key). */
export function derivedKey(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex');
}

function isProbeBounce(record: BounceRecord | undefined, event: BounceEvent): boolean {
  const probe = record?.probe;
  if (!probe || !event.probe) return false;
  return event.probe.nonce === probe.nonce || event.probe.key === probe.key;
}

export async function recordBounce(
  event: BounceEvent,
  store: MemberStore,
  state: BounceStore,
  options: BounceScoreOptions,
  now: number,
): Promise<BounceOutcome> {
  const member = await store.get(event.address);
  if (!member) return { result: 'not-member', address: event.address };
  const nonce = randomBytes(8).toString('hex');
  const candidate: PendingProbe = {
    sent_at: now,
    nonce,
    key: derivedKey('bounce-probe', state.list, nonce),
  };
  let result = 'scored' as BounceOutcome['result'];
  const record = await state.change(event.address, (old) => {
    const current = settleProbe(old, now, options);
    if (current?.seen.includes(event.key)) {
      result = 'repeat';
      return current;
    }
    const probeBounced = isProbeBounce(current, event);
    const next = addBounce(current, event, now, options, probeBounced);
    if (probeBounced) {
      const { probe: _done, ...rest } = next;
      if (member.nomail) return rest;
      result = 'disabled';
      return { ...rest, disabled_at: now };
    }
    if (member.nomail || next.probe || !overThreshold(next, options)) return next;
    result = 'probe';
    return { ...next, probe: candidate };
  });
  if (result === 'disabled')
    await store.update(member.address, { nomail: true, nomail_reason: 'bounce' });
  return {
    result,
    address: member.address,
    ...(record ? { record } : {}),
    ...(result === 'probe' ? { probe: candidate } : {}),
  };
}
