/**
 * What a command that processes list mail runs with, built in one place for `malist run`,
 * `receive`, `watch` and `held`: the lists' pipelines; the configured distributors, with
 * 5xx refusals (at once or at a later queue run) counted as bounces and the digest
 * collector beside them; the configured reactors plus the moderation notices; and the
 * router (`many-lists`) that sends mail for LIST-request@, LIST-join@, LIST-bounces+…@ to
 * the list's request and bounce handlers. Tokens of every kind (subscriptions, held posts)
 * live in one store, `STATE/tokens`, under the installation secret.
 */
import { buildListServices, type ListServices, tokenStore } from '../commands/list-services.ts';
import { loadSecret } from '../commands/secret.ts';
import createMultiple from '../distributors/multiple.ts';
import { ErrorCode, StageError } from '../errors.ts';
import { distributorSender, type ModerationWiring, wireModeration } from '../moderation/wiring.ts';
import type { NoticeSender } from '../notices/compose.ts';
import createManyLists, { servedRoutes } from '../processors/many-lists.ts';
import type { SingleList } from '../processors/single-list.ts';
import type { QueueDeps, RecipientFailure } from '../queue/queue.ts';
import type { Distributor, ListMail, Processor, Reactor } from '../types.ts';
import { buildDistributors, buildList, buildReactors, type Plans } from './build.ts';
import type { LoadedConfig } from './load.ts';
import { listPersonaliser } from './personalise.ts';

export interface ListRuntime {
  /** Every list's pipeline (its single-list), built once. */
  lists: SingleList[];
  /** The configured distributors as built: queue runs and `close()` go to these. */
  outlets: Distributor[];
  /** What play() distributes with: the outlets recording refusals, and the digest collector. */
  distributors: Distributor[];
  /** The configured reactors and the moderation notices (to posters, to moderators). */
  reactors: Reactor[];
  /** Sends a notice through the outlets. */
  send: NoticeSender;
  services: ListServices;
  moderation: ModerationWiring;
  /**
   * The router over `only` (default: every list), with each list's request and bounce
   * handlers; with `fallback`, a mail naming none of their addresses is posted to it.
   */
  processor(only?: readonly SingleList[], fallback?: SingleList): Processor;
  /** The served addresses `mail` is for (empty: none of the lists'). */
  routes(mail: ListMail, only?: readonly SingleList[]): ReturnType<typeof servedRoutes>;
  /** Closes the outlets once (play() closes only the wrappers it is given). */
  close(): Promise<void>;
}

/** A failure to build that waiting may cure (the state directory), not the configuration. */
export function isTemporary(error: unknown): boolean {
  return error instanceof StageError && error.temporary;
}

/**
 * Builds the runtime of a checked configuration (`config.problems` empty). Throws a
 * temporary StageError when the state directory is unusable, else a configuration error.
 */
export async function buildRuntime(config: LoadedConfig, plans: Plans): Promise<ListRuntime> {
  const stateDir = config.main!.state_dir;
  const configured = buildReactors(plans);
  const lists = plans.lists.map(buildList);
  const byName = new Map(lists.map((l) => [l.list.name, l]));
  // The queue learns of later refusals before the services exist, and of the secret that
  // personal unsubscribe URLs are signed with before it is read: bound once they are.
  let refused: ((event: RecipientFailure) => Promise<void>) | undefined;
  let personalise: QueueDeps['personalise'];
  const outlets = buildDistributors(plans, configured, {
    onRecipientFailed: (event) => refused?.(event),
    personalise: (entry, raw) => personalise?.(entry, raw),
  });
  const send = distributorSender(outlets);
  let secret: Buffer;
  try {
    secret = await loadSecret(stateDir);
  } catch (error) {
    throw new StageError(`cannot read or create the installation secret in ${stateDir}`, {
      code: ErrorCode.STORAGE,
      unit: 'secret',
      cause: error,
      temporary: true,
    });
  }
  personalise = listPersonaliser(plans, secret);
  const tokens = tokenStore(stateDir, secret);
  // notify-poster and notify-moderators are always on; named under `reactors:`, they take
  // the options written there.
  const notifyOptions = (type: string) => plans.reactors.find((p) => p.type === type)?.options;
  const poster = notifyOptions('notify-poster');
  const moderators = notifyOptions('notify-moderators');
  const moderation = wireModeration({
    stateDir,
    lists: Object.fromEntries(lists.map((l) => [l.list.name, l.list])),
    pipeline: (name) => byName.get(name),
    tokens: () => tokens,
    send,
    ...(poster ? { poster } : {}),
    ...(moderators ? { moderators } : {}),
  });
  const services = buildListServices({
    lists: lists.map((l) => l.list),
    stateDir,
    secret,
    tokens,
    confirmHandlers: moderation.confirmHandlers,
  });
  refused = services.queueRefusals(send);
  const recording = outlets.map((d) => services.recordRefusals(d, send));
  const digestOut =
    recording.length === 1 ? recording[0]! : createMultiple({ distributors: recording });
  const noMatch = config.main?.no_match;
  return {
    lists,
    outlets,
    // Without close(): play() closes what it is given, and one runtime serves several plays.
    distributors: [...recording, services.digestCollector(digestOut)].map((d) => ({
      name: d.name,
      distribute: (mail: ListMail) => d.distribute(mail),
    })),
    reactors: [...configured, ...moderation.reactors],
    send,
    services,
    moderation,
    processor: (only = lists, fallback) =>
      createManyLists({
        lists: [...only],
        handlers: services.handlers,
        ...(noMatch ? { no_match: noMatch } : {}),
        ...(fallback ? { fallback } : {}),
      }),
    routes: (mail, only = lists) => servedRoutes(only, services.handlers, mail),
    close: async () => {
      for (const d of outlets) await d.close?.().catch(() => {});
    },
  };
}
