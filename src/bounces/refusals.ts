/**
 * 5xx answers at delivery time are bounces too: a wrapper around any distributor that
 * records each recipient it reports `failed` (a 5xx, or a final refusal) against that
 * list's member, with the same scoring as mailed bounces. When a member crosses the
 * threshold, the notice goes out through `send` (the notices' outlet) if one is given.
 * The key (post key + recipient) makes a replayed delivery count once.
 */

import { bounceAddress, requestAddress } from '../list/addresses.ts';
import type { ListSettings } from '../list/settings.ts';
import { verpAddress } from '../mail/verp.ts';
import type { MemberStore } from '../members/store.ts';
import { composeNotice, type NoticeSender } from '../notices/compose.ts';
import { renderTemplate } from '../notices/templates.ts';
import type { DeliveryReport, Distributor, ListMail } from '../types.ts';
import { BOUNCE_TEMPLATES } from './handler.ts';
import { recordBounce } from './record.ts';
import type { BounceScoreOptions } from './score.ts';
import { bounceClass } from './severity.ts';
import { BounceState } from './state.ts';

export interface RefusalListOptions extends BounceScoreOptions {
  list: ListSettings;
  store: MemberStore;
  state_dir: string;
}

export interface RefusalRecordingOptions {
  /** The lists whose members are scored, by list name (`mail.ml_list_name`). */
  lists: Record<string, RefusalListOptions>;
  /** Sends the nomail notice to a member who crossed the threshold. */
  send?: NoticeSender;
  /** Told of recording errors (never fails the delivery). */
  log?: (line: string) => void;
  now?: () => number;
}

/** Records one refusal; exported for the queue runner's later 5xx answers. */
export async function recordRefusal(
  options: RefusalRecordingOptions,
  listName: string,
  recipient: string,
  key: string,
  response: { code?: number; text?: string },
): Promise<void> {
  const target = options.lists[listName];
  if (!target) return;
  const diagnostic = `${response.code ?? ''} ${response.text ?? ''}`.trim();
  const code = response.code ?? 550;
  const outcome = await recordBounce(
    {
      address: recipient,
      class: code >= 500 ? bounceClass('', diagnostic || String(code)) : 'soft',
      action: 'failed',
      key,
      diagnostic,
    },
    target.store,
    new BounceState(target.state_dir, listName),
    target,
    (options.now ?? Date.now)(),
  );
  if (outcome.result !== 'disabled' || !options.send) return;
  const list = target.list;
  const vars = {
    list_name: list.display_name ?? list.name,
    list_address: list.address,
    request_address: requestAddress(list),
    address: outcome.address,
    diagnostic: diagnostic || 'refused',
  };
  const notice = await composeNotice({
    envelopeFrom: verpAddress(bounceAddress(list), outcome.address),
    from: requestAddress(list),
    to: outcome.address,
    subject: renderTemplate(BOUNCE_TEMPLATES.bounce_disabled_subject, vars),
    text: renderTemplate(BOUNCE_TEMPLATES.bounce_disabled, vars),
    autoSubmitted: 'auto-generated',
  });
  await options.send(notice);
}

/** `inner`, with every final refusal it reports recorded as a bounce. */
export function withRefusalRecording(
  inner: Distributor,
  options: RefusalRecordingOptions,
): Distributor {
  return {
    name: inner.name,
    async distribute(mail: ListMail): Promise<DeliveryReport> {
      const report = await inner.distribute(mail);
      for (const r of report.results) {
        if (r.status !== 'failed' || !mail.ml_list_name) continue;
        try {
          await recordRefusal(
            options,
            mail.ml_list_name,
            r.recipient,
            `${mail.key}:${r.recipient}`,
            {
              code: r.code,
              text: r.response,
            },
          );
        } catch (error) {
          options.log?.(`bounce record for ${r.recipient} failed: ${(error as Error).message}`);
        }
      }
      return report;
    },
    ...(inner.close ? { close: () => inner.close!() } : {}),
  };
}
