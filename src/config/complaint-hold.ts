/**
 * `feedback.complaints.hold_rate`: while a list's complaint rate today (bounces/complaints.ts)
 * is past the ceiling, its new posts are held for a moderator instead of sent, so the owner
 * looks before the next post pushes the sending account over the providers' limit (Gmail
 * refuses bulk senders above 0.3%). Requests and bounces are not posts and go on.
 */
import { complaintStanding, percent } from '../bounces/complaints.ts';
import type { BounceStorage } from '../bounces/store.ts';
import { Hold } from '../errors.ts';
import type { SingleList } from '../processors/single-list.ts';

/** `single`, holding its posts while the list's complaint rate today is above `holdRate`. */
export function withComplaintHold(
  single: SingleList,
  bounces: BounceStorage,
  holdRate: number | undefined,
): SingleList {
  if (holdRate === undefined) return single;
  const name = single.list.name;
  return {
    ...single,
    async process(mail) {
      const s = await complaintStanding(bounces.complaints(name), bounces.sent, name);
      if (s.complaints > 0 && s.rate > holdRate)
        throw new Hold(
          `the list's spam complaint rate today is ${percent(s.rate)} (${s.complaints} of ${s.delivered} deliveries), above the ceiling ${percent(holdRate)}: new posts are held (malist complaints)`,
          'complaints',
        );
      return single.process(mail);
    },
  };
}
