/**
 * `type: many-lists` — one mailbox serving several lists: each mail goes to every list
 * whose address it carries in To, Cc, Delivered-To, X-Original-To or the envelope recipient
 * (every address, not just the first). A cross-post becomes one copy per list; a copy whose
 * list signalled carries that signal (`ml_signal`) so the other lists still get theirs.
 */
import { Discard, Hold, isSignal, Reject, type Signal } from '../errors.ts';
import { addressesIn, normalizeAddress } from '../mail/address.ts';
import { cloneListMail } from '../mail/list-mail.ts';
import type { ListMail, Processor } from '../types.ts';
import type { SingleList } from './single-list.ts';

export interface ManyListsOptions {
  /** The lists served (built `single-list` processors). */
  lists: SingleList[];
  /** What to do with a mail that names none of the lists. @default 'hold' */
  no_match?: 'hold' | 'reject' | 'discard';
}

const ROUTING_FIELDS = ['To', 'Cc', 'Delivered-To', 'X-Original-To', 'Envelope-To'];

/** The lists a mail is addressed to, in configuration order. */
export function routeMail(lists: readonly SingleList[], mail: ListMail): SingleList[] {
  const values = ROUTING_FIELDS.flatMap((name) => mail.header.getAll(name));
  if (mail.origin.recipient) values.push(mail.origin.recipient);
  const addressed = new Set(addressesIn(values));
  return lists.filter((l) => addressed.has(normalizeAddress(l.list.address)));
}

export default function createManyLists(options: ManyListsOptions): Processor {
  if (!options?.lists?.length) throw new Error('many-lists: `lists` needs at least one list');
  const seen = new Set<string>();
  for (const l of options.lists) {
    const address = normalizeAddress(l.list.address);
    if (seen.has(address))
      throw new Error(`many-lists: two lists share the address ${l.list.address}`);
    seen.add(address);
  }
  return {
    name: 'many-lists',
    async process(mail: ListMail): Promise<ListMail | ListMail[]> {
      const targets = routeMail(options.lists, mail);
      if (targets.length === 0) {
        const reason =
          'addressed to none of the lists served here (To, Cc, Delivered-To, X-Original-To)';
        const action = options.no_match ?? 'hold';
        throw action === 'reject'
          ? new Reject(reason)
          : action === 'discard'
            ? new Discard(reason)
            : new Hold(reason);
      }
      if (targets.length === 1) return targets[0]!.process(mail);
      const copies: ListMail[] = [];
      for (const target of targets) {
        const copy = cloneListMail(mail);
        copy.ml_list_name = target.list.name;
        try {
          copies.push(await target.process(copy));
        } catch (error) {
          if (!isSignal(error)) throw error;
          copy.ml_signal = error as Signal;
          copies.push(copy);
        }
      }
      return copies;
    },
  };
}
