/**
 * The list services the runtime (runtime.ts) puts around the units: the handlers of each
 * list's request and bounce addresses (for `many-lists`' `handlers`), the 5xx-refusal
 * recorder and the digest collector. Each list needs `member_store` set; lists without one
 * get none. Nothing here is bound late: what a service sends through is an argument.
 */
import type { ComplaintSettings, FeedbackEvent, FeedbackResult } from '../bounces/feedback.ts';
import {
  type RefusalRecordingOptions,
  recordRefusal,
  withRefusalRecording,
} from '../bounces/refusals.ts';
import { type BounceStorage, fileBounceStorage } from '../bounces/store.ts';
import type { ConfirmHandlers } from '../commands/confirm-handlers.ts';
import createDigestCollector, { type DigestListOptions } from '../digest/collector.ts';
import type { Command } from '../list/commands.ts';
import type { ListSettings } from '../list/settings.ts';
import type { VerpParts } from '../mail/verp.ts';
import type { MemberStore } from '../members/store.ts';
import { createOwnerHandler } from '../moderation/owner.ts';
import type { NoticeSender } from '../notices/compose.ts';
import type { ListAddressHandlers } from '../processors/many-lists.ts';
import type { DeliveredEvent, RecipientFailure } from '../queue/queue.ts';
import { type PendingStore, TokenStore } from '../state/tokens.ts';
import type { Distributor, ListMail } from '../types.ts';
import type { ListState } from './list-state.ts';
import { filePendingStore } from './storage.ts';

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
  /** Where bounce state lives (storage.ts bounceStorageFor). @default the files under stateDir */
  bounces?: BounceStorage;
  /** Memos, notice counts and digests for `storage:` (storage.ts). @default the files under stateDir */
  listState?: ListState;
}

export interface ListServices extends DeliveryServices {
  /** For createManyLists({ lists, handlers }). */
  handlers: Record<string, ListAddressHandlers>;
}

/** What the services do around delivery; `send` is given with each use. */
export interface DeliveryServices {
  /** Wraps the configured distributor so 5xx refusals count as bounces. */
  recordRefusals(inner: Distributor, send?: NoticeSender): Distributor;
  /** The digest collector for lists with digest members, sending through `send`. */
  digestCollector(send: Distributor): Distributor;
  /**
   * For the queue's `onRecipientFailed`: a recipient refused (5xx) at a later queue run
   * counts as a bounce like one refused at once (same key, so never twice).
   */
  queueRefusals(send?: NoticeSender): (event: RecipientFailure) => Promise<void>;
  /** For the queue's `onDelivered`: members a later queue run delivered to go into the sent index. */
  queueDelivered(event: DeliveredEvent): Promise<void>;
  /** Records a sending service's verified report (bounces/feedback.ts), notices through `send`. */
  feedback(
    send: NoticeSender | undefined,
    complaints?: ComplaintSettings,
  ): (event: FeedbackEvent) => Promise<FeedbackResult>;
}

/** Where the installation's pending confirmations live: `pending` (rows), else the files. */
export function tokenStore(stateDir: string, secret: Buffer, pending?: PendingStore): TokenStore {
  return new TokenStore(pending ?? filePendingStore(stateDir), secret);
}

/** The lists that keep members: the ones with services. */
function served(lists: ListSettings[]): Array<ListSettings & { member_store: MemberStore }> {
  return lists.filter((l): l is ListSettings & { member_store: MemberStore } =>
    Boolean(l.member_store),
  );
}

/** The refusal recorder, the sent index and the digest collector of `lists`. */
export function deliveryServices(
  lists: ListSettings[],
  stateDir: string,
  secret: Buffer,
  bounces: BounceStorage = fileBounceStorage(stateDir),
  listState?: ListState,
): DeliveryServices {
  const refusalLists: RefusalRecordingOptions['lists'] = {};
  const digestLists: Record<string, DigestListOptions> = {};
  for (const list of served(lists)) {
    const store = list.member_store;
    refusalLists[list.name] = {
      list,
      store,
      state_dir: stateDir,
      ...list.bounces,
      ...(list.templates ? { templates: list.templates } : {}),
    };
    digestLists[list.name] = { list, members: store, ...list.digest };
  }
  const recording = (send?: NoticeSender) => ({
    lists: refusalLists,
    secret,
    bounces,
    ...(send ? { send } : {}),
  });
  return {
    recordRefusals: (inner, send) =>
      withRefusalRecording(inner, { ...recording(send), state_dir: stateDir }),
    digestCollector: (send) =>
      createDigestCollector({
        state_dir: stateDir,
        lists: digestLists,
        send,
        ...(listState ? { collection: listState.digest } : {}),
      }),
    queueRefusals: (send) => async (event) => {
      if (event.reason !== 'refused' || !event.list || !event.key) return;
      await recordRefusal(recording(send), {
        list: event.list,
        recipient: event.recipient,
        mailKey: event.key,
        ...(event.code !== undefined ? { code: event.code } : {}),
        ...(event.response !== undefined ? { text: event.response } : {}),
      });
    },
    // Reports come only to `malist serve`: the feedback code is loaded with the first one.
    feedback: (send, complaints) => async (event) =>
      (await import('../bounces/feedback.ts')).recordFeedback(
        { ...recording(send), state_dir: stateDir, ...(complaints ? { complaints } : {}) },
        event,
      ),
    queueDelivered: async (event) => {
      if (!event.list || !event.messageId || !refusalLists[event.list]) return;
      await bounces.sent.record(event.list, event.messageId, event.recipients, Date.now());
    },
  };
}

/**
 * A handler made on its first mail: most mail is posts, so a process that handles one mail
 * (`malist receive`) loads the request or bounce machinery (~30 modules) only for mail to
 * those addresses. Made once; a failure to make it is that mail's failure, tried again next.
 */
function onFirstMail<A extends unknown[]>(
  make: () => Promise<{ handle(mail: ListMail, ...rest: A): Promise<ListMail[]> }>,
): { handle(mail: ListMail, ...rest: A): Promise<ListMail[]> } {
  let made: ReturnType<typeof make> | undefined;
  return {
    async handle(mail, ...rest) {
      made ??= make().catch((error: unknown) => {
        made = undefined;
        throw error;
      });
      return (await made).handle(mail, ...rest);
    },
  };
}

/** The request, bounce and owner handlers of each list's addresses. */
export function listHandlers(
  options: ListServicesOptions & { tokens: TokenStore },
): Record<string, ListAddressHandlers> {
  const handlers: Record<string, ListAddressHandlers> = {};
  for (const list of served(options.lists)) {
    const store = list.member_store;
    handlers[list.name] = {
      request: onFirstMail<[Command?]>(async () =>
        (await import('../commands/request.ts')).default(list, {
          store,
          tokens: options.tokens,
          state_dir: options.stateDir,
          ...(options.listState
            ? { memos: options.listState.memos, notice_counts: options.listState.noticeCounts }
            : {}),
          ...(list.subscribe_policy ? { subscribe_policy: list.subscribe_policy } : {}),
          ...(list.unsubscribe_policy ? { unsubscribe_policy: list.unsubscribe_policy } : {}),
          ...(list.confirm_hours ? { confirm_hours: list.confirm_hours } : {}),
          ...(list.templates ? { templates: list.templates } : {}),
          ...(options.confirmHandlers ? { confirmHandlers: options.confirmHandlers } : {}),
        }),
      ),
      bounces: onFirstMail<[VerpParts?]>(async () =>
        (await import('../bounces/handler.ts')).default(list, {
          store,
          state_dir: options.stateDir,
          secret: options.secret,
          ...(options.bounces ? { storage: options.bounces } : {}),
          ...(options.listState ? { memos: options.listState.memos } : {}),
          ...list.bounces,
          ...(list.templates ? { templates: list.templates } : {}),
        }),
      ),
      owner: createOwnerHandler(list),
    };
  }
  return handlers;
}

/** Every list service at once (for applications that wire their own loop). */
export function buildListServices(options: ListServicesOptions): ListServices {
  const tokens = options.tokens ?? tokenStore(options.stateDir, options.secret);
  return {
    handlers: listHandlers({ ...options, tokens }),
    ...deliveryServices(
      options.lists,
      options.stateDir,
      options.secret,
      options.bounces,
      options.listState,
    ),
  };
}
