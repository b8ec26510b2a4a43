/**
 * `/lists/:list/members` (owners, admins): search, add, and one member — options, bounce
 * record, re-enable after bounces, remove. Changes go through the list's member store, the
 * same one its posts read (atomic writes under the file's lock, comments kept).
 */
import { Hono } from 'hono';
import { normalizeAddress } from '../mail/address.ts';
import { actor, field, listArea, page, type WebContext, type WebDeps, type WebEnv } from './env.ts';
import { bounceInfo, optionsPatch, resetBounceScore, searchMembers } from './member-actions.ts';
import { MemberPage, MembersPage } from './views/members.tsx';

const PER_PAGE = 50;

async function membersPage(c: WebContext, notice?: string, error?: string) {
  const list = c.get('list');
  const q = c.req.query('q') ?? '';
  const wanted = Math.max(1, Number.parseInt(c.req.query('page') ?? '1', 10) || 1);
  const found = await searchMembers(list, q, (wanted - 1) * PER_PAGE, PER_PAGE);
  const pages = Math.max(1, Math.ceil(found.matched / PER_PAGE));
  return page(
    c,
    `Members of ${list.name}`,
    MembersPage({
      list: list.name,
      q,
      total: found.total,
      matched: found.matched,
      page: Math.min(wanted, pages),
      pages,
      members: found.members,
      csrf: c.get('csrf'),
    }),
    { nav: 'members', ...(notice ? { notice } : {}), ...(error ? { error } : {}) },
  );
}

async function memberPage(c: WebContext, address: string, notice?: string) {
  const list = c.get('list');
  const member = await list.store.get(address);
  if (!member)
    return page(c, 'Not a member', `${address} is not a member of ${list.name}.`, {
      nav: 'members',
      status: 404,
    });
  const bounce = await bounceInfo(c.get('state').runtime.bounces, list, address);
  return page(
    c,
    member.address,
    MemberPage({ list: list.name, member, ...(bounce ? { bounce } : {}), csrf: c.get('csrf') }),
    { nav: 'members', ...(notice ? { notice } : {}) },
  );
}

export function memberRoutes(deps: WebDeps): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  app.use('/lists/:list/members', listArea('members'));
  app.use('/lists/:list/members/*', listArea('members'));
  app.get('/lists/:list/members', (c) => membersPage(c));
  app.post('/lists/:list/members/add', async (c) => {
    const form = await c.req.parseBody({ all: true });
    const address = field(form, 'address').trim();
    if (!normalizeAddress(address).includes('@'))
      return membersPage(c, undefined, `'${address}' is not a mail address.`);
    const name = field(form, 'name').trim();
    const added = await c.get('list').store.add({
      address,
      ...(name ? { name } : {}),
      ...(field(form, 'digest') ? { digest: true } : {}),
    });
    deps.log(`${actor(c)} added ${address} to ${c.get('list').name}`);
    return membersPage(
      c,
      added === 'added' ? `${address} added.` : `${address} was already a member.`,
    );
  });
  app.get('/lists/:list/members/:address', (c) => memberPage(c, c.req.param('address')));
  app.post('/lists/:list/members/:address/options', async (c) => {
    const form = await c.req.parseBody({ all: true });
    const address = c.req.param('address');
    const current = await c.get('list').store.get(address);
    if (!current) return memberPage(c, address);
    await c.get('list').store.update(
      address,
      optionsPatch((o) => field(form, o) === 'on', current),
    );
    return memberPage(c, address, 'Options saved.');
  });
  app.post('/lists/:list/members/:address/reenable', async (c) => {
    const address = c.req.param('address');
    await c.get('list').store.update(address, { nomail: false });
    await resetBounceScore(c.get('state').runtime.bounces, c.get('list'), address);
    deps.log(`${actor(c)} re-enabled ${address} on ${c.get('list').name}`);
    return memberPage(c, address, 'Delivery re-enabled.');
  });
  app.post('/lists/:list/members/:address/remove', async (c) => {
    const address = c.req.param('address');
    const removed = await c.get('list').store.remove(address);
    deps.log(`${actor(c)} removed ${address} from ${c.get('list').name}`);
    return membersPage(c, removed ? `${address} removed.` : `${address} was not a member.`);
  });
  return app;
}
