/**
 * Deciding held posts from the web and the API: the same durable, once-only decision as
 * `malist held` and a moderator's mail (moderation/decide.ts). An approved post is
 * delivered through the configured distributors under the journal (runtime.deliver), so
 * deciding again — a double click, a second moderator — sends nothing twice; a rejected
 * post's poster is told, with the moderator's reason.
 */
import { decide } from '../moderation/decide.ts';
import { type ModerationAction, releasedMail } from '../moderation/held.ts';
import { posterOf, sendListNotice } from '../notices/list-notices.ts';
import type { SiteState, WebList } from './site.ts';

export type WebAction = Exclude<ModerationAction, 'expire'>;
export const WEB_ACTIONS: readonly WebAction[] = ['approve', 'reject', 'discard'];

export interface HeldOutcome {
  id: string;
  status: 'done' | 'already' | 'missing' | 'failed';
  message: string;
}

export async function decideHeld(
  state: SiteState,
  list: WebList,
  ids: string[],
  action: WebAction,
  by: string,
  reason = '',
): Promise<HeldOutcome[]> {
  const ctx = state.runtime.moderation;
  const out: HeldOutcome[] = [];
  for (const id of [...new Set(ids)]) {
    const result = await decide(ctx, list.settings, id, action, by);
    if (result.status === 'done' && action === 'reject' && result.held && ctx.notices) {
      const post = releasedMail(result.held.raw, result.held.meta, by);
      await sendListNotice(ctx.notices, list.settings, {
        kind: 'rejected',
        to: posterOf(post) ?? '',
        about: post,
        answering: post,
        vars: { reason: reason.trim() || 'A moderator rejected it.' },
        templates: ctx.templates,
      }).catch(() => 'failed');
    }
    if (result.release) await state.runtime.deliver([result.release]);
    out.push({ id, status: result.status, message: result.message });
  }
  return out;
}
