/**
 * `/me`: the signed-in member's lists and their own options — digest, plain digests,
 * nomail (not one an owner set), not-me-too — and unsubscribing. Only lists the address
 * is a member of; another list's name in the URL finds nothing.
 */
import { Hono } from 'hono';
import { normalizeAddress } from '../mail/address.ts';
import { memberSnapshot } from '../members/snapshot.ts';
import type { MemberPatch } from '../members/store.ts';
import { field, page, signedIn, type WebContext, type WebDeps, type WebEnv } from './env.ts';
import { staffRoles } from './roles.ts';
import { type MyList, MyLists } from './views/me.tsx';

async function myLists(c: WebContext): Promise<MyList[]> {
  const who = c.get('who');
  if (who?.kind !== 'address') return [];
  const normal = normalizeAddress(who.address);
  const out: MyList[] = [];
  for (const list of c.get('state').lists) {
    const member = (await memberSnapshot(list.store)).byAddress.get(normal);
    if (member)
      out.push({
        name: list.name,
        displayName: list.settings.display_name ?? list.name,
        address: list.settings.address,
        member,
      });
  }
  return out;
}

async function mePage(c: WebContext, notice?: string) {
  const who = c.get('who');
  const others = c
    .get('state')
    .lists.filter((l) => staffRoles(who, l).length > 0)
    .map((l) => l.name);
  return page(c, 'My lists', MyLists({ lists: await myLists(c), csrf: c.get('csrf'), others }), {
    ...(notice ? { notice } : {}),
  });
}

export function meRoutes(deps: WebDeps): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  app.use('/me', signedIn);
  app.use('/me/*', signedIn);
  app.get('/me', (c) => mePage(c));
  app.post('/me/:list/options', async (c) => {
    const mine = (await myLists(c)).find((l) => l.name === c.req.param('list'));
    if (!mine) return mePage(c);
    const form = await c.req.parseBody({ all: true });
    const on = (o: string) => field(form, o) === 'on';
    const patch: MemberPatch = {
      digest: on('digest'),
      plain: on('plain'),
      notmetoo: on('notmetoo'),
    };
    if (mine.member.nomail_reason !== 'admin') {
      patch.nomail = on('nomail');
      if (patch.nomail && !mine.member.nomail) patch.nomail_reason = 'user';
    }
    await c.get('state').list(mine.name)!.store.update(mine.member.address, patch);
    return mePage(c, `Your options for ${mine.name} are saved.`);
  });
  app.post('/me/:list/unsubscribe', async (c) => {
    const mine = (await myLists(c)).find((l) => l.name === c.req.param('list'));
    if (!mine) return mePage(c);
    await c.get('state').list(mine.name)!.store.remove(mine.member.address);
    deps.log(`${mine.member.address} unsubscribed from ${mine.name} on the web`);
    return mePage(c, `You are no longer subscribed to ${mine.name}.`);
  });
  return app;
}
