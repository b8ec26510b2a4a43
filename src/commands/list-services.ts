/**
 * Wiring for the config layer: from the lists' settings, the handlers of their request and
 * bounce addresses (for `many-lists`' `handlers`), the 5xx-refusal recorder and the digest
 * collector. Each list needs `member_store` set; lists without one get no handlers.
 */
import { join } from 'node:path';
import createBounceHandler from '../bounces/handler.ts';
import {
  type RefusalRecordingOptions,
  recordRefusal,
  withRefusalRecording,
} from '../bounces/refusals.ts';
import createDigestCollector, { type DigestListOptions } from '../digest/collector.ts';
import type { ListSettings } from '../list/settings.ts';
import type { NoticeSender } from '../notices/compose.ts';
import type { ListAddressHandlers } from '../processors/many-lists.ts';
import type { RecipientFailure } from '../queue/queue.ts';
import { TokenStore } from '../state/tokens.ts';
import type { Distributor } from '../types.ts';
import type { ConfirmHandlers } from './confirm-handlers.ts';
import createRequestHandler from './request.ts';

export interface ListServicesOptions {
  lists: ListSettings[];
  /** malist.yaml's state_dir. */
  stateDir: string;
  /** The installation secret (commands/secret.ts `loadSecret`). */
  secret: Buffer;
  /** Token kinds handled elsewhere (moderation's 'moderate'). */
  confirmHandlers?: ConfirmHandlers;
  /** The token store, when others share it (moderation). @default STATE/tokens with `secret` */
  tokens?: TokenStore;
}

export interface ListServices {
  /** For createManyLists({ lists, handlers }). */
  handlers: Record<string, ListAddressHandlers>;
  /** Wraps the configured distributor so 5xx refusals count as bounces. */
  recordRefusals(inner: Distributor, send?: NoticeSender): Distributor;
  /** The digest collector for lists with digest members, sending through `send`. */
  digestCollector(send: Distributor): Distributor;
  /**
   * For the queue's `onRecipientFailed`: a recipient refused (5xx) at a later queue run
   * counts as a bounce like one refused at once (same key, so never twice).
   */
  queueRefusals(send?: NoticeSender): (event: RecipientFailure) => Promise<void>;
}

/** Where the installation's pending confirmations live. */
export function tokenStore(stateDir: string, secret: Buffer): TokenStore {
  return new TokenStore(join(stateDir, 'tokens'), secret);
}

export function buildListServices(options: ListServicesOptions): ListServices {
  const tokens = options.tokens ?? tokenStore(options.stateDir, options.secret);
  const handlers: Record<string, ListAddressHandlers> = {};
  const refusalLists: RefusalRecordingOptions['lists'] = {};
  const digestLists: Record<string, DigestListOptions> = {};
  for (const list of options.lists) {
    const store = list.member_store;
    if (!store) continue;
    handlers[list.name] = {
      request: createRequestHandler(list, {
        store,
        tokens,
        state_dir: options.stateDir,
        ...(list.subscribe_policy ? { subscribe_policy: list.subscribe_policy } : {}),
        ...(list.unsubscribe_policy ? { unsubscribe_policy: list.unsubscribe_policy } : {}),
        ...(list.confirm_hours ? { confirm_hours: list.confirm_hours } : {}),
        ...(list.templates ? { templates: list.templates } : {}),
        ...(options.confirmHandlers ? { confirmHandlers: options.confirmHandlers } : {}),
      }),
      bounces: createBounceHandler(list, {
        store,
        state_dir: options.stateDir,
        ...list.bounces,
        ...(list.templates ? { templates: list.templates } : {}),
      }),
    };
    refusalLists[list.name] = { list, store, state_dir: options.stateDir, ...list.bounces };
    digestLists[list.name] = { list, members: store, ...list.digest };
  }
  return {
    handlers,
    recordRefusals: (inner, send) =>
      withRefusalRecording(inner, { lists: refusalLists, ...(send ? { send } : {}) }),
    digestCollector: (send) =>
      createDigestCollector({ state_dir: options.stateDir, lists: digestLists, send }),
    queueRefusals: (send) => async (event) => {
      if (event.reason !== 'refused' || !event.list || !event.key) return;
      await recordRefusal(
        { lists: refusalLists, ...(send ? { send } : {}) },
        event.list,
        event.recipient,
        `${event.key}:${event.recipient}`,
        { code: event.code, text: event.response },
      );
    },
  };
}
