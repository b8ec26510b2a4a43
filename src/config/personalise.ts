/**
 * Personal content through the queue: for a list whose footer names the member
 * (`{member}`, or a personal `{unsubscribe_url}`) or whose `unsubscribe_url` is personal,
 * each member's copy is made from the spooled bytes when it is sent — the footer for that
 * member and List-Unsubscribe with their own RFC 8058 one-click URL (token: an HMAC under
 * the installation secret, checked by `malist serve`). Lists without personal content get
 * undefined: one shared copy, batched as usual.
 */

import type { ListSettings } from '../list/settings.ts';
import { createListMail, mailBytes } from '../mail/list-mail.ts';
import { type FooterOptions, isPersonal, personalize } from '../processors/footer.ts';
import { isPersonalUrl } from '../processors/list-headers.ts';
import type { QueueDeps } from '../queue/queue.ts';
import { unsubscribeToken } from '../state/unsubscribe-token.ts';
import type { Plans } from './build.ts';

type Personaliser = NonNullable<QueueDeps['personalise']>;

/** The queue's `personalise` for these lists, under the installation `secret`. */
export function listPersonaliser(plans: Plans, secret: Buffer): Personaliser {
  const lists = new Map<string, { settings: ListSettings; footer?: FooterOptions }>();
  for (const { list, units } of plans.lists) {
    const footer = units.find((u) => u.type === 'footer')?.options as FooterOptions | undefined;
    const personalFooter = footer !== undefined && isPersonal(list.settings, footer);
    if (!personalFooter && !isPersonalUrl(list.settings.unsubscribe_url)) continue;
    lists.set(list.name, { settings: list.settings, ...(personalFooter ? { footer } : {}) });
  }
  return (entry, raw) => {
    const found = entry.list === undefined ? undefined : lists.get(entry.list);
    if (!found) return undefined;
    const { settings, footer } = found;
    const shared = createListMail(raw, { fetcher: 'queue', id: entry.id });
    return (recipient) => {
      const member = {
        address: recipient,
        token: unsubscribeToken(secret, settings.name, recipient),
      };
      return mailBytes(personalize(shared, settings, footer, member));
    };
  };
}
