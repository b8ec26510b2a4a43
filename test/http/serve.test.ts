/** One-click unsubscribe (RFC 8058): POST unsubscribes, GET only asks, bad tokens do nothing. */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import createMemoryMemberStore from '../../src/members/memory.ts';
import { unsubscribeToken } from '../../src/state/unsubscribe-token.ts';
import { logSafe } from '../../src/web/listen.ts';
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

describe('malist serve under hostile clients', () => {
  const open = (port: number) =>
    new Promise<Socket>((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(s));
      s.once('error', reject);
    });
  const closed = (s: Socket) =>
    new Promise<string>((resolve) => {
      let got = '';
      s.on('data', (d) => {
        got += d.toString('latin1');
      });
      s.once('close', () => resolve(got));
      s.once('error', () => undefined);
    });

  it('serves at most maxConnections clients at once; more are closed', async () => {
    running = await serve({ port: 0, secret, lists: {}, maxConnections: 2 });
    const port = Number(new URL(running.url).port);
    const held = [await open(port), await open(port)];
    const third = await open(port);
    // The server closes the surplus connection without reading it.
    expect(await closed(third)).toBe('');
    for (const s of held) s.destroy();
  });

  it('closes a client that does not finish its request header in time (slowloris)', async () => {
    running = await serve({ port: 0, secret, lists: {}, headersTimeoutMs: 200 });
    const port = Number(new URL(running.url).port);
    const slow = await open(port);
    const ended = closed(slow);
    slow.write('GET /unsubscribe/red HTTP/1.1\r\nHost: x\r\n');
    // Never the blank line: the server answers 408 (or drops) instead of waiting forever.
    const answer = await ended;
    expect(answer === '' || answer.startsWith('HTTP/1.1 408')).toBe(true);
  });

  it('log lines escape what a client sent (no forged lines)', async () => {
    const lines: string[] = [];
    running = await serve({ port: 0, secret, lists: {}, log: (l) => lines.push(l) });
    await fetch(`${running.url}/unsubscribe/red%0AGET%20%2Fforged%20ok/a%40b.example/x`, {
      method: 'POST',
      body: 'List-Unsubscribe=One-Click',
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toMatch(/[\r\n]/);
    expect(lines[0]).toContain('red\\x0aGET /forged ok');
    expect(logSafe('a\u0000b\u202ec')).not.toMatch(/[\u0000\u202e]/);
  });
});
