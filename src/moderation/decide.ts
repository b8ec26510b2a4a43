/**
 * Carrying out a moderator's decision on a held post, once: approve (the post runs the
 * list's pipeline as approved and is returned for distribution), reject (the poster is
 * told), discard, or expire. Shared by mail commands, the CLI and the expiry sweep.
 */
import { isSignal } from '../errors.ts';
import type { ListSettings } from '../list/settings.ts';
import { isoTime } from '../mail/iso-time.ts';
import type { StoredMeta } from '../state/mail-store.ts';
import type { ListMail } from '../types.ts';
import {
  claimDecision,
  type Decision,
  findHeld,
  type ModerationAction,
  type ModerationContext,
  readDecision,
  releasedMail,
  retire,
} from './held.ts';

export type DecideStatus = 'done' | 'already' | 'missing' | 'failed';

export interface DecideResult {
  status: DecideStatus;
  /** What to tell whoever asked. */
  message: string;
  decision?: Decision;
  /** The approved post, processed by the list's pipeline, ready to distribute. */
  release?: ListMail;
  held?: { raw: Buffer; meta: StoredMeta };
}

const PAST: Record<ModerationAction, string> = {
  approve: 'approved',
  reject: 'rejected',
  discard: 'discarded',
  expire: 'expired',
};

function describe(meta: StoredMeta): string {
  return `"${meta.subject ?? '(no subject)'}" from ${meta.from ?? '(unknown sender)'}`;
}

function already(earlier: Decision): DecideResult {
  return {
    status: 'already',
    decision: earlier,
    message: `nothing done: that post was already ${PAST[earlier.action]} (by ${earlier.by}, ${earlier.at})`,
  };
}

/** Tells `ctx.onDecision` (webhooks); a listener never fails a decision. */
async function tellDecision(
  ctx: ModerationContext,
  list: string,
  decision: Decision,
  meta: StoredMeta,
): Promise<void> {
  try {
    await ctx.onDecision?.(list, decision, meta);
  } catch {
    // told, not asked
  }
}

/**
 * Decides held post `heldId`. `request` is the key of the command mail: the same mail
 * asking again (a crash replay) gets the same result, anyone else gets "already decided".
 */
export async function decide(
  ctx: ModerationContext,
  list: ListSettings,
  heldId: string,
  action: ModerationAction,
  by: string,
  request?: string,
): Promise<DecideResult> {
  const earlier = await readDecision(ctx, list.name, heldId);
  const replay = earlier !== undefined && request !== undefined && earlier.request === request;
  if (earlier && !replay) return already(earlier);
  const held = await findHeld(ctx, list.name, heldId);
  if (!held || (held.decided && !replay))
    return { status: 'missing', message: 'nothing done: no such held post (expired or decided)' };
  const decision: Decision = earlier ?? {
    heldId,
    action,
    by,
    request,
    at: isoTime(ctx.now?.() ?? Date.now()),
  };
  let release: ListMail | undefined;
  if (decision.action === 'approve') {
    const pipeline = ctx.pipeline(list.name);
    if (!pipeline)
      return { status: 'failed', message: `nothing done: list ${list.name} is not served here` };
    try {
      const out = await pipeline.process(releasedMail(held.raw, held.meta, by));
      release = Array.isArray(out) ? out[0] : out;
    } catch (error) {
      // A post the pipeline still refuses (a content rule) stays held for another decision.
      const why = isSignal(error) ? error.reason : String(error);
      return { status: 'failed', message: `nothing done: the post could not be released: ${why}` };
    }
  }
  // The decision is the commit point: claimed before the post moves or goes out. Of two
  // deciders racing (two processes, two hosts), the first claim wins; the other does nothing.
  if (!earlier) {
    const claimed = await claimDecision(ctx, list.name, decision);
    if (!claimed.won) return already(claimed.decision);
  }
  if (!held.decided) await retire(ctx, list, held.raw, held.meta, decision);
  if (!earlier) await tellDecision(ctx, list.name, decision, held.meta);
  return {
    status: 'done',
    decision,
    release,
    held,
    message: `${describe(held.meta)} was ${PAST[decision.action]}${decision.action === 'approve' ? ' and sent to the list' : ''}`,
  };
}
