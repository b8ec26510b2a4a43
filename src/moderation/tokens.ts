/**
 * Moderation by mail. A held post gets a `moderate` token (HMAC, expiring with the hold);
 * the moderators' notice says "confirm TOKEN" in its subject, so replying to it — or
 * mailing "approve|reject|discard TOKEN" to LIST-request@ — decides the post. The request
 * handler (src/commands/request.ts) peeks the token and calls the handler made here; it
 * consumes the token once its replies are recorded. A token used again or expired finds
 * nothing, and the requester is told so.
 */
import type { ConfirmHandler, TokenVerb } from '../commands/confirm-handlers.ts';
import { posterOf, sendListNotice } from '../notices/list-notices.ts';
import type { TokenStore } from '../state/tokens.ts';
import type { ListMail } from '../types.ts';
import { decide } from './decide.ts';
import {
  decidedBy,
  findHeld,
  type ModerationAction,
  type ModerationContext,
  readDecision,
  releasedMail,
} from './held.ts';

/** The token kind of a held post. */
export const MODERATE = 'moderate';

export interface ModerationTokenData extends Record<string, unknown> {
  heldId: string;
}

/** Creates the token moderators use for held post `heldId`; it lives as long as the hold. */
export function issueModerationToken(
  tokens: TokenStore,
  list: string,
  heldId: string,
  ttlMs: number,
  now = Date.now(),
): Promise<string> {
  return tokens.create<ModerationTokenData>(MODERATE, list, { heldId }, ttlMs, now);
}

function actionOf(verb: TokenVerb): ModerationAction {
  return verb === 'confirm' ? 'approve' : verb;
}

/** The `moderate` confirm handler for the request handler's `confirmHandlers`. */
export function createModerationHandler(ctx: ModerationContext): ConfirmHandler {
  const handler: ConfirmHandler = async ({ list, verb, pending, requester, mail, now }) => {
    const heldId = String((pending.data as Partial<ModerationTokenData>).heldId ?? '');
    const result = await decide(ctx, list, heldId, actionOf(verb), requester, mail.key);
    const line = `${verb}: ${result.message}`;
    if (result.status !== 'done') return { result: line };
    if (result.decision?.action === 'reject' && result.held && ctx.notices) {
      const post = releasedMail(result.held.raw, result.held.meta, requester);
      const to = posterOf(post) ?? '';
      await sendListNotice(
        ctx.notices,
        list,
        {
          kind: 'rejected',
          to,
          about: post,
          answering: post,
          vars: { reason: 'A moderator rejected it.' },
          templates: ctx.templates,
        },
        now,
      );
    }
    return { result: line, release: result.release ? [result.release] : [] };
  };
  handler.replay = async (list, mail): Promise<ListMail[]> => {
    const out: ListMail[] = [];
    for (const heldId of await decidedBy(ctx, list.name, mail.key)) {
      const decision = await readDecision(ctx, list.name, heldId);
      if (decision?.action !== 'approve' || !(await findHeld(ctx, list.name, heldId))) continue;
      const again = await decide(ctx, list, heldId, 'approve', decision.by, mail.key);
      if (again.release) out.push(again.release);
    }
    return out;
  };
  return handler;
}
