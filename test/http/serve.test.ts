/** One-click unsubscribe (RFC 8058): POST unsubscribes, GET only asks, bad tokens do nothing. */
import { afterEach, describe, expect, it } from 'vitest';
import createMemoryMemberStore from '../../src/members/memory.ts';
import { unsubscribeToken } from '../../src/state/unsubscribe-token.ts';
import { type RunningServer, serve } from '../../src/web/server.ts';

const secret = Buffer.alloc(32, 9);
let running: RunningServer | undefined;

afterEach(async () => {
  await running?.close();
  running = undefined;
});

async function start() {
  const store = createMemoryMemberStore({
    members: [{ address: 'alice@example.com' }, { address: 'bob@example.org' }],
  });
  const left: string[] = [];
  running = await serve({
    port: 0,
    secret,
    lists: {
      red: {
        list: { name: 'red', address: 'red@list.example', display_name: 'Red <b>', members: [] },
        store,
        onUnsubscribed: async (a) => {
          left.push(a);
        },
      },
    },
  });
  return { store, left, base: running.url };
}

const urlFor = (base: string, member: string, token = unsubscribeToken(secret, 'red', member)) =>
  `${base}/unsubscribe/red/${encodeURIComponent(member)}/${token}`;

describe('malist serve', () => {
  it('RFC 8058 POST unsubscribes the member, without cookies or redirects', async () => {
    const { store, left, base } = await start();
    const res = await fetch(urlFor(base, 'alice@example.com'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
      redirect: 'manual',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(res.headers.get('location')).toBeNull();
    expect(await res.text()).toContain('is no longer subscribed');
    expect((await store.list()).map((m) => m.address)).toEqual(['bob@example.org']);
    expect(left).toEqual(['alice@example.com']);
    // Again: still 200, nothing more to do.
    const again = await fetch(urlFor(base, 'alice@example.com'), {
      method: 'POST',
      body: 'List-Unsubscribe=One-Click',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(again.status).toBe(200);
    expect(left).toEqual(['alice@example.com']);
  });

  it('accepts multipart/form-data as RFC 8058 allows', async () => {
    const { store, base } = await start();
    const form = new FormData();
    form.set('List-Unsubscribe', 'One-Click');
    const res = await fetch(urlFor(base, 'bob@example.org'), { method: 'POST', body: form });
    expect(res.status).toBe(200);
    expect(await store.get('bob@example.org')).toBeUndefined();
  });

  it('GET shows a confirmation page and changes nothing (escaped, no script)', async () => {
    const { store, base } = await start();
    const res = await fetch(urlFor(base, 'alice@example.com'));
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<form method="post">');
    expect(html).toContain('name="List-Unsubscribe" value="One-Click"');
    expect(html).toContain('Red &#60;b&#62;');
    expect(await store.list()).toHaveLength(2);
  });

  it("a forged token, another member's token, an unknown list or a missing body change nothing", async () => {
    const { store, base } = await start();
    const post = (url: string, body = 'List-Unsubscribe=One-Click') =>
      fetch(url, {
        method: 'POST',
        body,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      });
    expect((await post(urlFor(base, 'alice@example.com', '0'.repeat(32)))).status).toBe(404);
    expect(
      (
        await post(
          urlFor(base, 'alice@example.com', unsubscribeToken(secret, 'red', 'bob@example.org')),
        )
      ).status,
    ).toBe(404);
    expect(
      (
        await post(
          `${base}/unsubscribe/blue/alice%40example.com/${unsubscribeToken(secret, 'blue', 'alice@example.com')}`,
        )
      ).status,
    ).toBe(404);
    expect((await post(urlFor(base, 'alice@example.com'), 'nothing=here')).status).toBe(400);
    expect((await fetch(urlFor(base, 'alice@example.com'), { method: 'PUT' })).status).toBe(405);
    expect(await store.list()).toHaveLength(2);
  });

  it('query form and address case do not matter', async () => {
    const { store, base } = await start();
    const token = unsubscribeToken(secret, 'red', 'alice@example.com');
    const res = await fetch(`${base}/u?list=red&member=ALICE%40Example.com&token=${token}`, {
      method: 'POST',
      body: 'List-Unsubscribe=One-Click',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(200);
    expect(await store.get('alice@example.com')).toBeUndefined();
  });
});
