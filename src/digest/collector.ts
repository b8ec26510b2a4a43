/**
 * `digest` collector — a distributor that files each distributed post into the list's
 * pending digest, and sends the digest (through `send`) as soon as the size or age
 * threshold is met. Mail malist composed itself is not collected. Says nothing per
 * recipient: digest members are not the post's recipients.
 */
import { isOwnMail } from '../archive/paths.ts';
import type { ListSettings } from '../list/settings.ts';
import { mailBytes } from '../mail/list-mail.ts';
import { digestRecipients, type MemberStore } from '../members/store.ts';
import type { DeliveryReport, Distributor, ListMail } from '../types.ts';
import type { DigestOptions } from './send.ts';
import { type DigestCollection, DigestStore } from './store.ts';

export interface DigestListOptions extends DigestOptions {
  list: ListSettings;
  members: MemberStore;
}

export interface DigestCollectorOptions {
  /** Where pending digests live (`STATE`), unless `collection` says otherwise. */
  state_dir: string;
  /**
   * A list's collection, as the composition root keeps it (`storage:`: PostgreSQL rows).
   * @default the files under `STATE/digest/LIST`
   */
  collection?: (list: string) => Promise<DigestCollection>;
  /** The lists that have digests, by list name. */
  lists: Record<string, DigestListOptions>;
  /** Sends a digest when it is due (the configured SMTP queue). */
  send: Distributor;
  now?: () => Date;
}

export default function createDigestCollector(options: DigestCollectorOptions): Distributor {
  const now = options.now ?? (() => new Date());
  return {
    name: 'digest',
    async distribute(mail: ListMail): Promise<DeliveryReport> {
      const target = mail.ml_list_name ? options.lists[mail.ml_list_name] : undefined;
      if (!target || isOwnMail(mail.header.get('Auto-Submitted'), mail.origin.fetcher))
        return { results: [] };
      const store = options.collection
        ? await options.collection(target.list.name)
        : new DigestStore(options.state_dir, target.list.name);
      // Nobody takes digests: keep no copy of the post (a durable write per post, and a
      // pending store that would only grow). Posts already pending still go out when due.
      const readers = digestRecipients(await target.members.list());
      if (readers.length === 0 && (await store.pending()).length === 0) return { results: [] };
      const at = now();
      await store.add(mail.key, mailBytes(mail), at.getTime());
      // Loaded only here: a list nobody reads as a digest never needs it.
      const { digestDue, sendDigest } = await import('./send.ts');
      if (await digestDue(store, target, at.getTime())) {
        await sendDigest({
          list: target.list,
          store,
          members: target.members,
          distributor: options.send,
          options: target,
          now: at,
        });
      }
      return { results: [] };
    },
  };
}
