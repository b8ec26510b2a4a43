/**
 * The one way a notice leaves malist: never to an automated sender or a robot address,
 * never to an address over its daily budget, and never a reason to fail the caller.
 */
import { normalizeAddress, parseAddressList } from '../mail/address.ts';
import { automationReason } from '../mail/automated.ts';
import type { ListMail } from '../types.ts';
import { composeNotice, type NoticeSender, type NoticeSpec } from './compose.ts';
import type { NoticeRateLimit } from './rate-limit.ts';

export interface NoticeOutlet {
  send: NoticeSender;
  limit: NoticeRateLimit;
  /** Told why a notice was not sent (for the log). */
  log?: (line: string) => void;
}

export type NoticeOutcome = 'sent' | 'automated' | 'rate-limited' | 'no-address';

/**
 * Sends the notice described by `spec` unless `answering` (the mail that prompted it) is
 * automated, the recipient is not a usable address, or the day's budget is spent.
 */
export async function sendNotice(
  outlet: NoticeOutlet,
  spec: NoticeSpec,
  answering?: ListMail,
  now = Date.now(),
): Promise<NoticeOutcome> {
  const to = normalizeAddress(parseAddressList(spec.to)[0]?.address ?? spec.to);
  if (!to) {
    outlet.log?.(`notice "${spec.subject}" not sent: no usable address in ${spec.to}`);
    return 'no-address';
  }
  const automated = answering ? automationReason(answering) : undefined;
  if (automated) {
    outlet.log?.(`notice to ${to} not sent: the mail it answers is automated (${automated})`);
    return 'automated';
  }
  if (!(await outlet.limit.take(to, now))) {
    outlet.log?.(`notice to ${to} not sent: daily notice limit reached`);
    return 'rate-limited';
  }
  await outlet.send(await composeNotice({ ...spec, to }));
  return 'sent';
}
