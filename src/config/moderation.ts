/**
 * What the configuration needs to switch moderation on, in one place: a notice sender over
 * the configured distributors, the `moderate` confirm handler for each list's request
 * handler, and the two notice reactors. The token store of a list must be the one its
 * request handler reads, so the caller passes it in.
 */

import type { ListSettings } from '../list/settings.ts';
import { once } from '../mail/lazy.ts';
import { createListMail } from '../mail/list-mail.ts';
import type { ModerationContext } from '../moderation/held.ts';
import { createModerationHandler } from '../moderation/tokens.ts';
import { type Notice, NoticeRefused, type NoticeSender } from '../notices/compose.ts';
import { noticeOutlet } from '../notices/list-notices.ts';
import type { NotifyModeratorsOptions } from '../reactors/notify-moderators.ts';
import type { NotifyPosterOptions } from '../reactors/notify-poster.ts';
import type { NoticeCounts } from '../state/memos.ts';
import type { TokenStore } from '../state/tokens.ts';
import type { Distributor, ListMail, Processor, Reactor } from '../types.ts';

/** A notice as a ListMail for a distributor: one recipient, the list's bounce address as sender. */
export function noticeMail(notice: Notice, list = notice.list): ListMail {
  return {
    ...createListMail(notice.raw, { fetcher: 'malist-notice', id: notice.to }),
    ...(notice.key ? { key: notice.key } : {}),
    ml_sender: notice.from,
    ml_send_to: [notice.to],
    ml_list_name: list,
  };
}

/** Sends notices through `distributors` (the queue, for SMTP); a refusal is an error. */
export function distributorSender(distributors: Distributor[]): NoticeSender {
  return async (notice) => {
    for (const distributor of distributors) {
      const report = await distributor.distribute(noticeMail(notice));
      const failed = report.results.find((r) => r.status === 'failed');
      if (failed)
        throw new NoticeRefused(notice.to, failed.code, failed.response ?? '', failed.distributor);
    }
  };
}

export interface ModerationWiringOptions {
  stateDir: string;
  /** The lists served, by short name. */
  lists: Record<string, ListSettings>;
  /** A list's posting pipeline (its single-list). */
  pipeline(list: string): Processor | undefined;
  /** A list's token store: the same one its request handler peeks. */
  tokens(list: string): TokenStore;
  send: NoticeSender;
  templates?: Partial<Record<string, string>>;
  /** Notices one poster may get per day. @default 10 */
  per_day?: number;
  log?: (line: string) => void;
  /** What malist.yaml says under `reactors:` for notify-poster (held, rejected, per_day, templates). */
  poster?: Partial<NotifyPosterOptions>;
  /** What malist.yaml says under `reactors:` for notify-moderators (per_day, templates). */
  moderators?: Partial<NotifyModeratorsOptions>;
  /** Told of each decision once it is durable (webhooks). */
  onDecision?: ModerationContext['onDecision'];
  /** Where held posts and decisions live (`storage:`). @default the files under stateDir */
  storage?: ModerationContext['storage'];
  /** The daily notice counts (`storage:`). @default the files under stateDir */
  noticeCounts?: NoticeCounts;
}

export interface ModerationWiring {
  context: ModerationContext;
  /** For the request handler's `confirmHandlers`. */
  confirmHandlers: Record<string, ReturnType<typeof createModerationHandler>>;
  /** notify-poster and notify-moderators. */
  reactors: Reactor[];
}

/**
 * A reactor made by `load` when it first reacts: notify-poster and notify-moderators (their
 * modules and option schemas: 28 zod objects) load with a process's first failure or signal,
 * not in every `malist receive` of a post that goes through.
 */
function madeOnFirstUse(name: string, load: () => Promise<Reactor>): Reactor {
  const made = once(load);
  return {
    name,
    async react(failure) {
      await (await made()).react(failure);
    },
  };
}

export function wireModeration(options: ModerationWiringOptions): ModerationWiring {
  const reactorOptions = {
    lists: options.lists,
    state_dir: options.stateDir,
    ...(options.noticeCounts ? { notice_counts: options.noticeCounts } : {}),
    send: options.send,
    per_day: options.per_day,
    templates: options.templates,
    log: options.log ?? ((line: string) => process.stderr.write(`malist: ${line}\n`)),
  };
  const context: ModerationContext = {
    stateDir: options.stateDir,
    pipeline: options.pipeline,
    notices: noticeOutlet(reactorOptions),
    templates: options.templates,
    ...(options.onDecision ? { onDecision: options.onDecision } : {}),
    ...(options.storage ? { storage: options.storage } : {}),
  };
  return {
    context,
    confirmHandlers: { moderate: createModerationHandler(context) },
    reactors: [
      madeOnFirstUse('notify-poster', async () =>
        (await import('../reactors/notify-poster.ts')).default({
          ...reactorOptions,
          ...options.poster,
        }),
      ),
      madeOnFirstUse('notify-moderators', async () =>
        (await import('../reactors/notify-moderators.ts')).default({
          ...reactorOptions,
          per_day: undefined,
          tokens: options.tokens,
          ...options.moderators,
        }),
      ),
    ],
  };
}
