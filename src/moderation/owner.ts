/**
 * Mail to a list's owner address (LIST-owner@), when the MTA hands it to malist: sent on,
 * bytes unchanged, to the list's moderators (the people who run it), from the list's bounce
 * address. A list with no moderators keeps it in its held queue for the operator (`malist
 * held list`) rather than mailing it back to the address it came to. Mail that carries the
 * list's own List-Id (its own notices) or the owner address's X-Loop went round: dropped.
 */
import { Discard, Hold } from '../errors.ts';
import { bounceAddress, listIdLabel, ownerAddress } from '../list/addresses.ts';
import type { ListSettings } from '../list/settings.ts';
import { normalizeAddress, sameAddress } from '../mail/address.ts';
import { listIdOf } from '../mail/automated.ts';
import type { ListMail } from '../types.ts';

export interface OwnerHandler {
  handle(mail: ListMail): Promise<ListMail[]>;
}

export function createOwnerHandler(list: ListSettings): OwnerHandler {
  const owner = ownerAddress(list);
  return {
    async handle(mail) {
      const label = listIdLabel(list);
      const own = mail.header.getAll('List-Id').some((v) => listIdOf(v) === label);
      if (own || mail.header.getAll('X-Loop').some((v) => sameAddress(v, owner)))
        throw new Discard(`mail to ${owner} that came from this list itself: not sent round again`);
      const to = (list.moderators ?? []).map(normalizeAddress).filter((a) => a !== '');
      if (to.length === 0)
        throw new Hold(`mail to ${owner}; the list names no moderators to send it on to`);
      mail.header.add('X-Loop', owner);
      mail.ml_list_name = list.name;
      mail.ml_sender = bounceAddress(list);
      mail.ml_send_to = to;
      return [mail];
    },
  };
}
