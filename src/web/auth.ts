/**
 * Signing in and out. List people get a link by mail: a token from the token store (HMAC,
 * 15 minutes), consumed by the POST of a confirmation page — a GET changes nothing, since
 * mail scanners open links — so a link signs in once. Site admins give the password set
 * with `malist web passwd`. Attempts are limited per address (or admin name) and per IP;
 * the answer to a sign-in request never says whether the address is known.
 */

import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono } from 'hono';
import { bounceAddress, ownerAddress } from '../list/addresses.ts';
import { listPhrase } from '../list/phrase.ts';
import { formatMailbox, normalizeAddress } from '../mail/address.ts';
import { composeNotice } from '../notices/compose.ts';
import { field, page, type WebContext, type WebDeps, type WebEnv } from './env.ts';
import { isMember, staffRoles } from './roles.ts';
import type { WebList } from './site.ts';
import { AdminLoginForm, LoginForm, VerifyForm } from './views/auth.tsx';

export const LOGIN_KIND = 'web-login';
const LOGIN_TTL_MS = 15 * 60_000;

/** The client's IP: the socket's, or the proxy's X-Real-IP when the proxy is on this host. */
export function clientIp(c: WebContext): string {
  let remote = 'unknown';
  try {
    remote = getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    // not behind node:http (tests through app.request)
  }
  const local = remote === '127.0.0.1' || remote === '::1' || remote === '::ffff:127.0.0.1';
  const forwarded = c.req.header('X-Real-IP')?.trim();
  return local && forwarded ? forwarded : remote;
}

/** The first list on which `address` has a part (for the From of the sign-in mail). */
async function listOf(lists: WebList[], address: string): Promise<WebList | undefined> {
  const who = { kind: 'address' as const, address };
  for (const list of lists) if (staffRoles(who, list).length > 0) return list;
  for (const list of lists) if (await isMember(list, address)) return list;
  return undefined;
}

async function mailLink(deps: WebDeps, c: WebContext, address: string): Promise<void> {
  const state = c.get('state');
  const list = await listOf(state.lists, address);
  if (!list) {
    deps.log(`sign-in requested for an unknown address from ${clientIp(c)}`);
    return;
  }
  const token = await state.runtime.tokens.create(LOGIN_KIND, '_web', { address }, LOGIN_TTL_MS);
  const link = `${deps.site.baseUrl}/login/verify?token=${token}`;
  const name = list.settings.display_name ?? list.name;
  const notice = await composeNotice({
    envelopeFrom: bounceAddress(list.settings),
    from: formatMailbox(name, ownerAddress(list.settings)),
    to: address,
    subject: `Sign in to the ${listPhrase(name)} pages`,
    text:
      `Someone (probably you) asked to sign in to the pages of the mailing lists at\n` +
      `${deps.site.baseUrl} as ${address}.\n\nOpen this link within 15 minutes; it works once:\n\n` +
      `${link}\n\nIf you did not ask, ignore this mail: nothing happens without the link.\n`,
    autoSubmitted: 'auto-generated',
  });
  await state.runtime.send(notice);
}

export function authRoutes(deps: WebDeps): Hono<WebEnv> {
  const app = new Hono<WebEnv>();
  app.get('/login', (c) => page(c, 'Sign in', LoginForm({ csrf: c.get('csrf') })));
  app.post('/login', async (c) => {
    const form = await c.req.parseBody();
    const address = normalizeAddress(field(form, 'address'));
    const ip = clientIp(c);
    if (!address?.includes('@'))
      return page(c, 'Sign in', LoginForm({ csrf: c.get('csrf') }), {
        error: 'That is not a mail address.',
        status: 400,
      });
    if (!deps.limits.perIp.take(`ip:${ip}`) || !deps.limits.perAddress.take(`a:${address}`)) {
      const wait = Math.max(
        deps.limits.perIp.retryAfter(`ip:${ip}`),
        deps.limits.perAddress.retryAfter(`a:${address}`),
      );
      c.header('Retry-After', String(wait || 900));
      return page(c, 'Sign in', 'Too many attempts. Try again in a few minutes.', {
        status: 429,
      });
    }
    await mailLink(deps, c, address);
    return page(
      c,
      'Check your mail',
      `If ${address} has a part in a list here, a sign-in link is on its way. It works once, for 15 minutes.`,
    );
  });
  app.get('/login/verify', async (c) => {
    const token = c.req.query('token') ?? '';
    const pending = await c.get('state').runtime.tokens.peek<{ address: string }>(token);
    if (!pending || pending.kind !== LOGIN_KIND)
      return page(c, 'Link expired', 'This sign-in link is used or expired. Ask for a new one.', {
        status: 400,
      });
    return page(
      c,
      'Sign in',
      VerifyForm({ csrf: c.get('csrf'), token, address: pending.data.address }),
    );
  });
  app.post('/login/verify', async (c) => {
    const form = await c.req.parseBody();
    const pending = await c
      .get('state')
      .runtime.tokens.consume<{ address: string }>(field(form, 'token'));
    if (!pending || pending.kind !== LOGIN_KIND)
      return page(c, 'Link expired', 'This sign-in link is used or expired. Ask for a new one.', {
        status: 400,
      });
    deps.sessions.start(c, { kind: 'address', address: pending.data.address });
    return c.redirect('/', 303);
  });
  app.get('/admin/login', (c) =>
    page(c, 'Site administrator', AdminLoginForm({ csrf: c.get('csrf') })),
  );
  app.post('/admin/login', async (c) => {
    const form = await c.req.parseBody();
    const user = field(form, 'user');
    const ip = clientIp(c);
    if (!deps.limits.perIp.take(`ip:${ip}`) || !deps.limits.perAddress.take(`s:${user}`)) {
      c.header('Retry-After', '900');
      return page(c, 'Site administrator', 'Too many attempts. Try again later.', {
        status: 429,
      });
    }
    if (!(await deps.site.credentials.checkPassword(user, field(form, 'password')))) {
      deps.log(`admin sign-in refused for ${JSON.stringify(user.slice(0, 64))} from ${ip}`);
      return page(c, 'Site administrator', AdminLoginForm({ csrf: c.get('csrf') }), {
        error: 'Wrong name or password.',
        status: 403,
      });
    }
    deps.sessions.start(c, { kind: 'admin', name: user });
    return c.redirect('/', 303);
  });
  app.post('/logout', async (c) => {
    await deps.sessions.end(c);
    return c.redirect('/login', 303);
  });
  return app;
}
