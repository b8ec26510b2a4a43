/**
 * Who may read a list's web archive, decided on every request from the list's settings as
 * they are now: `archive: {web: public}` anyone; `members` (the default) the list's members
 * signed in by the mailed link, and its staff; `private` only its owners, its moderators and
 * the site's admins. A reader who may not read an archive gets the same 404 as for a list
 * that does not exist, so a list's name does not leak; the page says signing in may help.
 */
import type { MiddlewareHandler } from 'hono';
import type { ArchiveStore } from '../../archive/store.ts';
import { archiveVisibility } from '../../list/archive.ts';
import { page, type WebContext, type WebEnv } from '../env.ts';
import { isMember, staffRoles } from '../roles.ts';
import type { WebList } from '../site.ts';

/** True when the viewer may read `list`'s archive. */
export async function mayRead(c: WebContext, list: WebList): Promise<boolean> {
  const visibility = archiveVisibility(list.settings);
  if (visibility === 'public') return true;
  const who = c.get('who');
  if (!who) return false;
  if (staffRoles(who, list).length > 0) return true;
  return visibility === 'members' && who.kind === 'address' && isMember(list, who.address);
}

/** The archive the pages read (files or rows), or undefined when no archive is configured. */
export function archiveOf(c: WebContext): ArchiveStore | undefined {
  return c.get('state').runtime.archive();
}

/** The one answer for "no such archive" and "not yours to read". */
export function noSuchArchive(c: WebContext) {
  const hint = c.get('who')
    ? 'There is no such archive, or it is not open to you.'
    : 'There is no such archive, or it is open only to signed-in members: sign in at /login and come back.';
  return page(c, 'No such archive', hint, { status: 404 });
}

/** Loads `:list` and checks the viewer may read its archive (else the 404 above). */
export const readableList: MiddlewareHandler<WebEnv> = async (c, next) => {
  const list = c.get('state').list(c.req.param('list') ?? '');
  if (!list || !archiveOf(c) || !(await mayRead(c, list))) return noSuchArchive(c);
  c.set('list', list);
  c.set('roles', staffRoles(c.get('who'), list));
  return next();
};

/** The lists whose archives the viewer may read, in name order. */
export async function readableLists(c: WebContext): Promise<WebList[]> {
  if (!archiveOf(c)) return [];
  const lists = c.get('state').lists;
  const ok = await Promise.all(lists.map((l) => mayRead(c, l)));
  return lists.filter((_, i) => ok[i]).sort((a, b) => a.name.localeCompare(b.name));
}
