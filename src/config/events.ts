/**
 * Where the webhook events come from, wired in one place for the runtime: the outbox from
 * malist.yaml's `webhooks:`, and the taps that feed it — a reactor for held posts, a
 * distributor wrapper for distributed ones, the member stores (subscribed, unsubscribed,
 * disabled by bounces), moderation decisions and the queue's dead letters. Every tap only
 * spools an event (the outbox never throws); delivery is the outbox's `run()`.
 */
import { isSignal } from '../errors.ts';
import { messageId } from '../mail/list-mail.ts';
import type { MemberChange } from '../members/observed.ts';
import type { Decision } from '../moderation/held.ts';
import {
  type WebhookEvent,
  type WebhookEventType,
  webhookEvent,
} from '../notices/webhooks/events.ts';
import { createWebhookOutbox, type WebhookOutbox } from '../notices/webhooks/outbox.ts';
import type { RecipientFailure } from '../queue/queue.ts';
import type { StoredMeta } from '../state/mail-store.ts';
import type { Distributor, ListMail, Reactor } from '../types.ts';
import type { LoadedConfig } from './load.ts';

export interface EventTaps {
  /** The outbox, when malist.yaml names webhooks. */
  outbox?: WebhookOutbox;
  emit(event: WebhookEvent): Promise<void>;
  /** Tells `post.held` for held posts. */
  reactor: Reactor;
  /** Tells `post.distributed` once `inner` took a list post. */
  distributor(inner: Distributor): Distributor;
  members(list: string): (change: MemberChange) => Promise<void>;
  decision(list: string, decision: Decision, meta: StoredMeta): Promise<void>;
  deadLetter(event: RecipientFailure): Promise<void>;
}

function about(mail: ListMail): Record<string, unknown> {
  return {
    message_id: messageId(mail) ?? null,
    subject: mail.header.getDecoded('Subject')?.slice(0, 300) ?? null,
    from: mail.header.getDecoded('From')?.slice(0, 300) ?? null,
  };
}

const DECIDED: Partial<Record<Decision['action'], WebhookEventType>> = {
  approve: 'post.approved',
  reject: 'post.rejected',
  discard: 'post.discarded',
};

export function eventTaps(config: LoadedConfig, log?: (line: string) => void): EventTaps {
  const endpoints = config.main?.webhooks ?? [];
  const outbox =
    endpoints.length > 0
      ? createWebhookOutbox({
          stateDir: config.main!.state_dir,
          endpoints,
          log: log ?? ((line) => process.stderr.write(`malist: ${line}\n`)),
        })
      : undefined;
  const emit = async (event: WebhookEvent) => outbox?.emit(event);
  const tell = (
    type: WebhookEventType,
    list: string,
    data: Record<string, unknown>,
    key: string,
  ) => (outbox ? emit(webhookEvent(type, list, data, key)) : Promise.resolve());
  return {
    ...(outbox ? { outbox } : {}),
    emit,
    reactor: {
      name: 'webhook-events',
      async react(failure) {
        const { error, mail } = failure;
        if (!isSignal(error) || error.kind !== 'hold' || !mail?.ml_list_name) return;
        const data = { ...about(mail), reason: error.reason, held_id: mail.key };
        await tell('post.held', mail.ml_list_name, data, mail.key);
      },
    },
    distributor: (inner) => ({
      name: inner.name,
      async distribute(mail) {
        const report = await inner.distribute(mail);
        const list = mail.ml_list_name;
        if (list && mail.origin.fetcher !== 'malist-notice') {
          const count = (s: string) => report.results.filter((r) => r.status === s).length;
          const data = {
            ...about(mail),
            recipients: new Set(report.results.map((r) => r.recipient)).size,
            delivered: count('delivered'),
            queued: count('queued') + count('deferred'),
            refused: count('failed'),
          };
          await tell('post.distributed', list, data, mail.key);
        }
        return report;
      },
      ...(inner.close ? { close: () => inner.close!() } : {}),
    }),
    members: (list) => async (change) => {
      const at = Date.now();
      const type = `member.${change.kind}` as WebhookEventType;
      await tell(type, list, { address: change.address }, `${change.address}\0${at}`);
    },
    decision: async (list, decision, meta) => {
      const type = DECIDED[decision.action];
      if (!type) return;
      const data = {
        held_id: decision.heldId,
        by: decision.by,
        message_id: meta.messageId ?? null,
        subject: meta.subject ?? null,
        from: meta.from ?? null,
      };
      await tell(type, list, data, decision.heldId);
    },
    deadLetter: async (event) => {
      if (!event.list) return;
      const data = {
        recipient: event.recipient,
        reason: event.reason,
        code: event.code ?? null,
        response: event.response ?? null,
        message_id: event.messageId ?? null,
      };
      await tell('dead_letter', event.list, data, `${event.entryId}\0${event.recipient}`);
    },
  };
}
