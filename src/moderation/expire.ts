/**
 * Held posts do not wait for ever: after the list's `held_expiry_days` a post nobody
 * decided is dropped and its poster told (unless the poster is a robot), and decided posts
 * kept for crash replay are pruned. Run from `malist held expire` (cron) or after a run.
 */

import type { ListSettings } from '../list/settings.ts';
import { posterOf, sendListNotice } from '../notices/list-notices.ts';
import { decide } from './decide.ts';
import { doneStore, heldStore, type ModerationContext, releasedMail } from './held.ts';

const DAY = 86_400_000;

export interface ExpiryReport {
  expired: string[];
  pruned: number;
}

export async function expireHeld(
  ctx: ModerationContext,
  list: ListSettings,
  now = ctx.now?.() ?? Date.now(),
): Promise<ExpiryReport> {
  const days = list.held_expiry_days ?? 14;
  const report: ExpiryReport = { expired: [], pruned: 0 };
  for (const meta of await heldStore(ctx, list.name).list()) {
    if (Date.parse(meta.at) + days * DAY > now) continue;
    const result = await decide(ctx, list, meta.id, 'expire', 'expiry');
    if (result.status !== 'done' || !result.held) continue;
    report.expired.push(meta.id);
    if (!ctx.notices) continue;
    const post = releasedMail(result.held.raw, result.held.meta, 'expiry');
    await sendListNotice(
      ctx.notices,
      list,
      {
        kind: 'expired',
        to: posterOf(post) ?? '',
        about: post,
        answering: post,
        templates: ctx.templates,
      },
      now,
    );
  }
  // Decided posts are kept a while so a replayed approval can still release its post.
  const done = doneStore(ctx, list.name);
  for (const meta of await done.list()) {
    if (Date.parse(meta.at) + (days + 30) * DAY > now) continue;
    await done.remove(meta.id);
    report.pruned++;
  }
  return report;
}
