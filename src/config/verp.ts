/**
 * VERP through the queue: for a list mail whose envelope sender is its list's plain bounce
 * address, each member's copy goes out from that member's VERP address with a cookie made
 * under the installation secret (list/verp.ts). Lists with `verp: false`, mail with another
 * sender (a probe, which carries its own cookie already; the null sender) and mail of no
 * list get undefined: one shared sender, batched as usual, nothing encoded twice.
 */
import { bounceAddress } from '../list/addresses.ts';
import type { ListSettings } from '../list/settings.ts';
import { memberBounceAddress } from '../list/verp.ts';
import { normalizeAddress } from '../mail/address.ts';
import type { QueueDeps } from '../queue/queue.ts';

type Sender = NonNullable<QueueDeps['sender']>;

/** The queue's `sender` for these lists, under the installation `secret`. */
export function listVerpSender(
  lists: readonly ListSettings[],
  secret: Buffer,
  now: () => number = Date.now,
): Sender {
  const verp = new Map(lists.filter((l) => l.verp !== false).map((l) => [l.name, l]));
  return (entry) => {
    const list = entry.list === undefined ? undefined : verp.get(entry.list);
    if (!list || !entry.sender) return undefined;
    if (normalizeAddress(entry.sender) !== normalizeAddress(bounceAddress(list))) return undefined;
    const at = now();
    return (recipient) => memberBounceAddress(list, secret, recipient, at);
  };
}
