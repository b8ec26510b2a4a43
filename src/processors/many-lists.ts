/**
 * `type: many-lists` — one mailbox serving several lists: each mail goes to every list
 * whose address it carries in To, Cc, Delivered-To, X-Original-To or the envelope recipient
 * (every address, not just the first). A cross-post becomes one copy per list; a copy whose
 * list signalled carries that signal (`ml_signal`) so the other lists still get theirs.
 *
 * A list's other addresses route to its handlers (`handlers`, by list name): mail to
 * LIST-request@, LIST-join@, LIST-leave@, LIST+subscribe@, … to the request handler
 * (commands), mail to LIST-bounces@ and its VERP forms (LIST-bounces+alice=example.com+COOKIE@)
 * to the bounce handler, mail to LIST-owner@ to the owner handler. A handler returns the
 * mail it produces (replies, notices, forwards) as copies.
 */

import { Discard, Hold, isSignal, Reject, type Signal } from '../errors.ts';
import type { Command } from '../list/commands.ts';
import { type AddressRole, addressRole } from '../list/roles.ts';
import { addressesIn, normalizeAddress } from '../mail/address.ts';
import { cloneListMail } from '../mail/list-mail.ts';
import type { VerpParts } from '../mail/verp.ts';
import type { ListMail, Processor } from '../types.ts';
import type { SingleList } from './single-list.ts';

/** What serves a list's request and bounce addresses (built by the config). */
export interface ListAddressHandlers {
  /** Mail commands; `command` is what the address itself says (join, leave, confirm+TOKEN). */
  request?: { handle(mail: ListMail, command?: Command): Promise<ListMail[]> };
  /** Bounces; `verp` is what a VERP bounce address says (member or token, and cookie). */
  bounces?: { handle(mail: ListMail, verp?: VerpParts): Promise<ListMail[]> };
  /** Mail to LIST-owner@: on to the people who run the list. */
  owner?: { handle(mail: ListMail): Promise<ListMail[]> };
}

export interface ManyListsOptions {
  /** The lists served (built `single-list` processors). */
  lists: SingleList[];
  /** What to do with a mail that names none of the lists. @default 'hold' */
  no_match?: 'hold' | 'reject' | 'discard';
  /** Handlers of the lists' request and bounce addresses, by list name. */
  handlers?: Record<string, ListAddressHandlers>;
  /**
   * The list a mail that names none of the served addresses is posted to, instead of
   * `no_match` (`malist receive --list NAME`: the MTA already said which list it is for).
   */
  fallback?: SingleList;
}

export interface Route {
  list: SingleList;
  role: AddressRole;
}

const ROUTING_FIELDS = ['To', 'Cc', 'Delivered-To', 'X-Original-To', 'Envelope-To'];

/**
 * Every (list, role) a mail is addressed to, in configuration order: a list's posting
 * address, and its request, bounce and owner addresses (each role once per list). When the
 * MTA said whom it delivers to (the envelope recipient), that address alone decides: To
 * and Cc name everyone the sender wrote to, not who this copy is for.
 */
export function routeAll(lists: readonly SingleList[], mail: ListMail): Route[] {
  const values = mail.origin.recipient
    ? [mail.origin.recipient]
    : ROUTING_FIELDS.flatMap((name) => mail.header.getAll(name));
  const addressed = addressesIn(values);
  const routes: Route[] = [];
  for (const list of lists) {
    const seen = new Set<string>();
    for (const address of addressed) {
      const role = addressRole(list.list, address);
      if (!role || seen.has(role.role)) continue;
      seen.add(role.role);
      routes.push({ list, role });
    }
  }
  return routes;
}

/** The routes of `mail` that something serves: posting addresses, and handled roles. */
export function servedRoutes(
  lists: readonly SingleList[],
  handlers: Record<string, ListAddressHandlers>,
  mail: ListMail,
): Route[] {
  return routeAll(lists, mail).filter(
    (r) => r.role.role === 'post' || handlers[r.list.list.name]?.[r.role.role] !== undefined,
  );
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
      const handlers = options.handlers ?? {};
      // With no handlers configured, only posting addresses route (as before).
      const routes = servedRoutes(options.lists, handlers, mail);
      if (routes.length === 0 && options.fallback) return options.fallback.process(mail);
      if (routes.length === 0) {
        const reason =
          'addressed to none of the lists served here (To, Cc, Delivered-To, X-Original-To)';
        const action = options.no_match ?? 'hold';
        throw action === 'reject'
          ? new Reject(reason)
          : action === 'discard'
            ? new Discard(reason)
            : new Hold(reason);
      }
      const run = async (route: Route, copy: ListMail): Promise<ListMail[]> => {
        const h = handlers[route.list.list.name];
        if (route.role.role === 'request') return h!.request!.handle(copy, route.role.command);
        if (route.role.role === 'bounces') return h!.bounces!.handle(copy, route.role.verp);
        if (route.role.role === 'owner') return h!.owner!.handle(copy);
        return [await route.list.process(copy)];
      };
      if (routes.length === 1 && routes[0]!.role.role === 'post')
        return routes[0]!.list.process(mail);
      if (routes.length === 1) {
        mail.ml_list_name = routes[0]!.list.list.name;
        return run(routes[0]!, mail);
      }
      const copies: ListMail[] = [];
      for (const route of routes) {
        const copy = cloneListMail(mail);
        copy.ml_list_name = route.list.list.name;
        try {
          copies.push(...(await run(route, copy)));
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
