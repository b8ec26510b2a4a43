/**
 * The composition root: what a command that handles list mail runs with, built in one place
 * for `malist run`, `receive`, `watch`, `held`, `digest`, `serve` and `queue`. Each piece is
 * built after what it needs, and gets it as an argument — nothing is bound late:
 *
 * 1. the installation secret and the token store (subscriptions, held posts, one-click);
 * 2. the DNS resolver (malist.yaml `dns:`), and the lists' pipelines (single-list) with
 *    their member stores, the `authenticate` unit's verifier and `dmarc`'s resolver, and the
 *    reactors;
 * 3. the archive (its indexes, or its rows on PostgreSQL), the signers of the lists with DKIM keys, and the configured
 *    distributors (the queue with its personaliser, its signer, its VERP senders with
 *    cookies, a hook that records a 5xx at a later queue run as a bounce, with the notice
 *    sent through that same queue, and one that puts later deliveries in the sent index;
 *    the archive distributors with the shared archive index; any other distributor handed
 *    each post signed);
 * 4. the notice sender over those distributors, and moderation (notices to posters and
 *    moderators, the `moderate` token kind);
 * 5. the request and bounce handlers of each list's addresses, the refusal recording around
 *    the distributors and the digest collector beside them;
 * 6. the router (`many-lists`) over the lists and their handlers.
 */
import type { ArchiveStore } from '../archive/store.ts';
import type { FeedbackEvent, FeedbackResult } from '../bounces/feedback.ts';
import type { BounceStorage } from '../bounces/store.ts';
import { loadSecret } from '../commands/secret.ts';
import createMultiple from '../distributors/multiple.ts';
import { ErrorCode, isUnreachable, NothingMore, StageError } from '../errors.ts';
import { observeMembers } from '../members/observed.ts';
import type { MemberStore } from '../members/store.ts';
import type { ModerationContext } from '../moderation/held.ts';
import type { NoticeSender } from '../notices/compose.ts';
import { createDeadLetterNotices } from '../notices/dead-letters.ts';
import { noticeOutlet } from '../notices/list-notices.ts';
import type { WebhookOutbox } from '../notices/webhooks/outbox.ts';
import { type PlaySummary, play } from '../play.ts';
import createManyLists, { servedRoutes } from '../processors/many-lists.ts';
import type { SingleList } from '../processors/single-list.ts';
import type { RecipientFailure } from '../queue/queue.ts';
import type { Journal } from '../state/journal.ts';
import type { TokenStore } from '../state/tokens.ts';
import type { Distributor, Fetched, ListMail, Processor, Reactor } from '../types.ts';
import { archiveIndexes } from './archive.ts';
import { installationResolver, unitWiring } from './authentication.ts';
import { buildDistributors, buildList, buildReactors, type Plans } from './build.ts';
import { withComplaintHold } from './complaint-hold.ts';
import { eventTaps } from './events.ts';
import type { ListState } from './list-state.ts';
import type { LoadedConfig } from './load.ts';
import { distributorSender, wireModeration } from './moderation.ts';
import { listPersonaliser } from './personalise.ts';
import { deliveryServices, listHandlers, tokenStore } from './services.ts';
import type { ListSigning, SigningPlan } from './signing.ts';
import {
  archiveRowsFor,
  bounceStorageFor,
  heldStorageFor,
  holdDatabases,
  journalFor,
  listStateFor,
  pendingStoreFor,
  queueStoresFor,
  storageOf,
} from './storage.ts';
import { listVerpSender } from './verp.ts';

export interface ListRuntime {
  /** malist.yaml's state_dir. */
  stateDir: string;
  /** The journal of handled mail (`storage:` picks files or PostgreSQL); every play uses it. */
  journal: Journal;
  /** The installation secret (tokens, one-click URLs). */
  secret: Buffer;
  tokens: TokenStore;
  /** Bounce records, the sent index and complaints (`storage:` picks files or PostgreSQL). */
  bounces: BounceStorage;
  /** Every list's pipeline (its single-list), built once. */
  lists: SingleList[];
  /** A list's pipeline by short name. */
  list(name: string): SingleList | undefined;
  /** A list's member store (the one its pipeline and handlers use), by short name. */
  memberStore(name: string): MemberStore | undefined;
  /** The first configured archive's root (`type: archive`'s dir), if any. */
  archiveDir: string | undefined;
  /**
   * That archive as the fronts read it (`storage:` picks its files and index, opened on first
   * use and shared with its distributor, or the PostgreSQL rows every host shares).
   */
  archive(): ArchiveStore | undefined;
  /** The configured distributors as built: queue runs and `close()` go to these. */
  outlets: Distributor[];
  /** What play() distributes with: the outlets recording refusals, and the digest collector. */
  distributors: Distributor[];
  /** The configured reactors and the moderation notices (to posters, to moderators). */
  reactors: Reactor[];
  /** Sends a notice through the outlets. */
  send: NoticeSender;
  /** What moderation decisions (`malist held`, mailed tokens) work with. */
  moderation: ModerationContext;
  /** Request memos, notice counts, post counters and digest collections (`storage:`). */
  listState: ListState;
  /**
   * The router over `only` (default: every list), with each list's request and bounce
   * handlers; with `fallback`, a mail naming none of their addresses is posted to it.
   */
  processor(only?: readonly SingleList[], fallback?: SingleList): Processor;
  /** The served addresses `mail` is for (empty: none of the lists'). */
  routes(mail: ListMail, only?: readonly SingleList[]): ReturnType<typeof servedRoutes>;
  /**
   * Plays `mails` (already processed, or through `processor`) to the distributors under
   * the journal, so asking again sends nothing twice: a released post, a notice.
   */
  deliver(mails: ListMail[], processor?: Processor): Promise<PlaySummary>;
  /** Records a sending service's verified bounce or complaint report (`malist serve`). */
  feedback(event: FeedbackEvent): Promise<FeedbackResult>;
  /** Recipients the queue gave up on while this runtime ran (dead letters), in order. */
  deadLetters: RecipientFailure[];
  /** The webhook outbox, when malist.yaml names webhooks: `run()` delivers what is due. */
  webhooks?: WebhookOutbox;
  /** Closes the outlets once (play() closes only the wrappers it is given). */
  close(): Promise<void>;
}

/**
 * A failure to build that waiting may cure (the state directory, a database that is
 * restarting or out of reach), not the configuration.
 */
export function isTemporary(error: unknown): boolean {
  return (error instanceof StageError && error.temporary) || isUnreachable(error);
}

async function secretOf(stateDir: string): Promise<Buffer> {
  try {
    return await loadSecret(stateDir);
  } catch (error) {
    throw new StageError(`cannot read or create the installation secret in ${stateDir}`, {
      code: ErrorCode.STORAGE,
      unit: 'secret',
      cause: error,
      temporary: true,
    });
  }
}

/** notify-poster and notify-moderators are always on; under `reactors:` they take options. */
function noticeOptions(plans: Plans) {
  const of = (type: string) => plans.reactors.find((p) => p.type === type)?.options;
  const poster = of('notify-poster');
  const moderators = of('notify-moderators');
  return { ...(poster ? { poster } : {}), ...(moderators ? { moderators } : {}) };
}

/**
 * The signers of the lists that have keys (checked and loaded by `planAll`); the signing
 * code is loaded only when a list has keys. With `stateDir`, each selector's key is held to
 * the one it first signed with (auth/key-pins.ts).
 */
export async function signingOf(
  plans: Plans,
  threads?: number,
  stateDir?: string,
): Promise<ListSigning | undefined> {
  const keyed = new Map<string, SigningPlan>();
  for (const { list, signing } of plans.lists) if (signing) keyed.set(list.name, signing);
  if (keyed.size === 0) return undefined;
  const { listSigning } = await import('./signing.ts');
  const { keyPins } = await import('../auth/key-pins.ts');
  return listSigning(keyed, {
    ...(threads ? { threads } : {}),
    ...(stateDir ? { pins: keyPins(stateDir) } : {}),
  });
}

/**
 * The configured distributors with each list's copies signed: the queue signs the copies of
 * each round itself, any other distributor is handed the post signed.
 */
export function signedDistributors(
  plans: Plans,
  reactors: Reactor[],
  signing: ListSigning | undefined,
  hooks: Parameters<typeof buildDistributors>[2] = {},
  archive: Parameters<typeof buildDistributors>[3] = {},
): Distributor[] {
  return buildDistributors(
    plans,
    reactors,
    { ...hooks, ...(signing ? { signer: signing.signer } : {}) },
    archive,
  ).map((d) => (signing && !('queue' in d) ? signing.wrap(d) : d));
}

/**
 * Builds the runtime of a checked configuration (`config.problems` empty). Throws a
 * temporary StageError when the state directory is unusable, else a configuration error.
 */
export async function buildRuntime(config: LoadedConfig, plans: Plans): Promise<ListRuntime> {
  const releaseDatabases = holdDatabases();
  try {
    return await assembleRuntime(config, plans, releaseDatabases);
  } catch (error) {
    await releaseDatabases();
    throw error;
  }
}

/** buildRuntime's work; the runtime's close lets go of the pools through `releaseDatabases`. */
async function assembleRuntime(
  config: LoadedConfig,
  plans: Plans,
  releaseDatabases: () => Promise<void>,
): Promise<ListRuntime> {
  const stateDir = config.main!.state_dir;
  const secret = await secretOf(stateDir);
  const journal = await journalFor(config.main!);
  const tokens = tokenStore(stateDir, secret, await pendingStoreFor(config.main!));
  const held = await heldStorageFor(config.main!);
  const bounces = await bounceStorageFor(config.main!);
  const listState = await listStateFor(config.main!);
  const taps = eventTaps(config);
  const configured = buildReactors(plans);
  const wired = {
    ...unitWiring(config.main, installationResolver(config.main)),
    'subject-prefix': { counters: listState.counters },
  };
  const holdRate = config.main?.feedback?.complaints?.hold_rate;
  const lists = plans.lists.map((p) =>
    withComplaintHold(
      taps.outbox
        ? buildList(p, wired, (store) => observeMembers(store, taps.members(p.list.name)))
        : buildList(p, wired),
      bounces,
      holdRate,
    ),
  );
  const byName = new Map(lists.map((l) => [l.list.name, l]));
  const settings = lists.map((l) => l.list);
  const services = deliveryServices(settings, stateDir, secret, bounces, listState);
  const archives = await archiveIndexes(plans, () => archiveRowsFor(config.main));
  const signing = await signingOf(plans, config.main?.signing_threads, stateDir);
  const deadLetters: RecipientFailure[] = [];
  const queueStores = await queueStoresFor(storageOf(config.main));
  // The owner's dead-letter notice goes out through the outlets built just below.
  const deadLetterNotices = createDeadLetterNotices({
    stateDir,
    lists: Object.fromEntries(settings.map((l) => [l.name, l])),
    outlet: noticeOutlet({
      lists: {},
      state_dir: stateDir,
      notice_counts: listState.noticeCounts,
      send: (n) => send(n),
    }),
    where: queueStores
      ? 'the queue_dead table in PostgreSQL (malist queue list)'
      : "the queue spool's dead/ folder",
  });
  const outlets = signedDistributors(
    plans,
    configured,
    signing,
    {
      onRecipientFailed: async (event, self) => {
        deadLetters.push(event);
        await deadLetterNotices.record(event).catch(() => {});
        await services.queueRefusals(distributorSender([self]))(event);
        await taps.deadLetter(event);
      },
      personalise: listPersonaliser(plans, secret),
      sender: listVerpSender(settings, secret),
      onDelivered: services.queueDelivered,
      ...(queueStores ? { storeFor: queueStores } : {}),
    },
    { openIndex: archives.open, ...(archives.rows ? { rows: archives.rows } : {}) },
  );
  const send = distributorSender(outlets);
  const moderation = wireModeration({
    stateDir,
    lists: Object.fromEntries(settings.map((l) => [l.name, l])),
    pipeline: (name) => byName.get(name),
    tokens: () => tokens,
    send,
    storage: held,
    noticeCounts: listState.noticeCounts,
    ...(taps.outbox ? { onDecision: taps.decision } : {}),
    ...noticeOptions(plans),
  });
  const handlers = listHandlers({
    lists: settings,
    stateDir,
    secret,
    tokens,
    bounces,
    listState,
    confirmHandlers: moderation.confirmHandlers,
  });
  const recording = outlets.map((d) => {
    const recorded = services.recordRefusals(d, send);
    return taps.outbox ? taps.distributor(recorded) : recorded;
  });
  const digestOut =
    recording.length === 1 ? recording[0]! : createMultiple({ distributors: recording });
  const noMatch = config.main?.no_match;
  const runtime: ListRuntime = {
    stateDir,
    journal,
    secret,
    tokens,
    bounces,
    lists,
    list: (name) => byName.get(name),
    memberStore: (name) => byName.get(name)?.list.member_store,
    archiveDir: archives.dir,
    archive: () => archives.store(),
    outlets,
    // Without close(): play() closes what it is given, and one runtime serves several plays.
    distributors: [...recording, services.digestCollector(digestOut)].map((d) => ({
      name: d.name,
      distribute: (mail: ListMail) => d.distribute(mail),
    })),
    reactors: [...configured, ...moderation.reactors, ...(taps.outbox ? [taps.reactor] : [])],
    send,
    moderation: moderation.context,
    listState,
    processor: (only = lists, fallback) =>
      createManyLists({
        lists: [...only],
        handlers,
        ...(noMatch ? { no_match: noMatch } : {}),
        ...(fallback ? { fallback } : {}),
      }),
    routes: (mail, only = lists) => servedRoutes(only, handlers, mail),
    deliver: (mails, processor) => playMails(runtime, mails, processor),
    feedback: services.feedback(send, config.main?.feedback?.complaints),
    deadLetters,
    ...(taps.outbox ? { webhooks: taps.outbox } : {}),
    close: async () => {
      await deadLetterNotices.flush();
      for (const d of outlets) await d.close?.().catch(() => {});
      archives.close();
      await signing?.close();
      await taps.outbox?.close().catch(() => {});
      // The PostgreSQL pools (when storage: is postgres) after every store on them, once no
      // other runtime of this process (a reload's successor) holds them.
      await releaseDatabases();
    },
  };
  return runtime;
}

/** `runtime.deliver`: `mails` through play(), journaled like any fetched mail. */
function playMails(
  runtime: ListRuntime,
  mails: ListMail[],
  processor?: Processor,
): Promise<PlaySummary> {
  const queue = [...mails];
  const fetcher = {
    name: 'malist-deliver',
    async fetch(): Promise<Fetched> {
      const mail = queue.shift();
      if (!mail) throw new NothingMore();
      return { mail, ack: async () => {} };
    },
    async close() {},
  };
  return play({
    fetcher,
    ...(processor ? { processor } : {}),
    distributor: runtime.distributors,
    reactor: runtime.reactors,
    stateDir: runtime.stateDir,
    journal: runtime.journal,
    ...(runtime.moderation.storage ? { held: runtime.moderation.storage } : {}),
  });
}
