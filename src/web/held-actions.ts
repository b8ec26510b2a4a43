/**
 * Deciding held posts from the web and the API: the same durable, once-only decision as
 * `malist held` and a moderator's mail (moderation/decide.ts). An approved post is
 * delivered through the configured distributors under the journal (runtime.deliver), so
 * deciding again — a double click, a second moderator — sends nothing twice; a rejected
 * post's poster is told, with the moderator's reason.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decide } from '../moderation/decide.ts';
import { type ModerationAction, releasedMail } from '../moderation/held.ts';
import { posterOf, sendListNotice } from '../notices/list-notices.ts';
import type { HeldStore } from '../state/held-store.ts';
import { MailStore, type StoredMeta } from '../state/mail-store.ts';
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

/**
 * A held entry's `.json` is written once, last, and never changed (a decision is kept
 * elsewhere and removes the entry), so what was read is kept by path: a request reads the
 * folder and only the entries it has not seen. (Reading 200 entries every time cost 130 ms
 * at p50 under load; see `npm run bench -- --web`.)
 */
const seen = new Map<string, StoredMeta>();

export async function heldMetas(store: HeldStore): Promise<StoredMeta[]> {
  // Rows in a database are one query away: only the files are worth the cache.
  if (!(store instanceof MailStore)) return store.list();
  let names: string[];
  try {
    names = (await readdir(store.dir)).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  const out: StoredMeta[] = [];
  for (const name of names) {
    const path = join(store.dir, name);
    let meta = seen.get(path);
    if (!meta) {
      meta = await readFile(path, 'utf8')
        .then((text) => JSON.parse(text) as StoredMeta)
        .catch(() => undefined);
      if (!meta) continue; // being written
      if (seen.size > 50_000) seen.clear();
      seen.set(path, meta);
    }
    out.push(meta);
  }
  const live = new Set(names.map((n) => join(store.dir, n)));
  for (const path of seen.keys())
    if (path.startsWith(store.dir) && !live.has(path)) seen.delete(path);
  return out;
}
