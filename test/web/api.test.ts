/**
 * The REST API over a real server and configuration: every endpoint with the scopes that
 * may and may not use it, the OpenAPI document validated against the OpenAPI 3.1 schema,
 * and webhooks: a receiver that fails twice and then succeeds gets each event once, signed.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memberSnapshot } from '../../src/members/snapshot.ts';
import { verifyWebhook } from '../../src/notices/webhooks/http-transport.ts';
import { RED_MEMBERS, startWebSite, strangerPost, type WebSite } from './harness.ts';

const HOOK_SECRET = 'a-webhook-secret-of-some-length';

interface Hit {
  id: string;
  type: string;
  status: number;
  signed: boolean;
}

describe('the REST API and webhooks', () => {
  let site: WebSite;
  let receiver: Server;
  const hits: Hit[] = [];
  const tries = new Map<string, number>();
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (d: Buffer) => chunks.push(d));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const event = JSON.parse(body.toString('utf8')) as { id: string; type: string };
        // Every event is refused twice, then taken.
        const n = (tries.get(event.id) ?? 0) + 1;
        tries.set(event.id, n);
        const status = n <= 2 ? 500 : 200;
        hits.push({
          id: event.id,
          type: event.type,
          status,
          signed: verifyWebhook(HOOK_SECRET, body, String(req.headers['x-malist-signature'])),
        });
        res.statusCode = status;
        res.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const port = (receiver.address() as { port: number }).port;
    process.env.WEBHOOK_SECRET_TEST = HOOK_SECRET;
    site = await startWebSite({
      mainExtra:
        `webhooks:\n  - { name: crm, url: 'http://127.0.0.1:${port}/hook', secret_env: WEBHOOK_SECRET_TEST,` +
        ` events: [member.subscribed, member.unsubscribed, post.approved] }\n`,
      webhookEveryMs: 3_600_000,
    });
    const credentials = site.web.site.credentials;
    for (const scope of ['admin', 'list:red', 'list:red:read', 'list:blue'])
      tokens[scope] = (await credentials.createToken([scope], `test ${scope}`)).token;
  }, 180_000);

  afterAll(async () => {
    await site?.close();
    receiver?.close();
  });

  async function api(scope: string | undefined, method: string, path: string, body?: unknown) {
    const r = await fetch(`${site.url}/api/v1${path}`, {
      method,
      headers: {
        ...(scope ? { Authorization: `Bearer ${tokens[scope]}` } : {}),
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await r.text();
    return { status: r.status, json: text ? JSON.parse(text) : undefined };
  }

  it('serves an OpenAPI 3.1 document that validates', async () => {
    const r = await api(undefined, 'GET', '/openapi.json');
    expect(r.status).toBe(200);
    const result = await new Validator().validate(r.json);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    const paths = Object.keys(r.json.paths);
    for (const p of [
      '/lists',
      '/lists/{list}',
      '/lists/{list}/settings',
      '/lists/{list}/members',
      '/lists/{list}/members/{address}',
      '/lists/{list}/members/bulk',
      '/lists/{list}/held',
      '/lists/{list}/held/{id}',
      '/lists/{list}/held/decisions',
      '/lists/{list}/queue',
      '/lists/{list}/bounces',
      '/lists/{list}/stats',
    ])
      expect(paths, p).toContain(p);
  });

  it('refuses without a token, hides other lists, and keeps read-only tokens reading', async () => {
    expect((await api(undefined, 'GET', '/lists')).status).toBe(401);
    expect(
      (await api('admin', 'GET', '/lists')).json.lists.map((l: { name: string }) => l.name).sort(),
    ).toEqual(['blue', 'red']);
    expect(
      (await api('list:red', 'GET', '/lists')).json.lists.map((l: { name: string }) => l.name),
    ).toEqual(['red']);
    for (const path of [
      '/lists/blue',
      '/lists/blue/members',
      '/lists/blue/held',
      '/lists/blue/stats',
    ])
      expect((await api('list:red', 'GET', path)).status, path).toBe(404);
    expect((await api('list:blue', 'GET', '/lists/red/members')).status).toBe(404);
    expect((await api('list:red:read', 'GET', '/lists/red/members')).status).toBe(200);
    const write = await api('list:red:read', 'POST', '/lists/red/members', {
      address: 'x@example.com',
    });
    expect(write.status).toBe(403);
    expect(
      (await api('list:red', 'POST', '/lists/red/members', { address: 'not an address' })).status,
    ).toBe(400);
  });

  it('reads and changes members one by one and in bulk', async () => {
    const added = await api('list:red', 'POST', '/lists/red/members', {
      address: 'erin@example.com',
      name: 'Erin',
    });
    expect(added.status).toBeLessThan(300);
    const got = await api('list:red:read', 'GET', '/lists/red/members/erin%40example.com');
    expect(got.status).toBe(200);
    expect(got.json.address).toBe('erin@example.com');
    expect(
      (await api('list:red', 'PATCH', '/lists/red/members/erin%40example.com', { digest: true }))
        .status,
    ).toBe(200);
    expect((await api('admin', 'GET', '/lists/red/members/erin%40example.com')).json.digest).toBe(
      true,
    );
    const page = await api('list:red', 'GET', '/lists/red/members?q=erin');
    expect(page.status).toBe(200);
    expect(JSON.stringify(page.json)).toContain('erin@example.com');
    expect((await api('list:red', 'DELETE', '/lists/red/members/erin%40example.com')).status).toBe(
      204,
    );
    expect((await api('list:red', 'GET', '/lists/red/members/erin%40example.com')).status).toBe(
      404,
    );
    const csv = `address,name\n${Array.from({ length: 50 }, (_, i) => `bulk${i}@example.com,B ${i}`).join('\n')}\nnot-an-address,X\n`;
    const dry = await api('list:red', 'POST', '/lists/red/members/bulk', {
      mode: 'add',
      csv,
      dry_run: true,
    });
    expect(dry.status).toBe(200);
    expect(dry.json.add).toHaveLength(50);
    expect(dry.json.problems).toHaveLength(1);
    expect(dry.json.applied).toBeNull();
    const red = () => site.web.site.current().list('red')!;
    expect((await memberSnapshot(red().store)).byAddress.has('bulk0@example.com')).toBe(false);
    const done = await api('list:red', 'POST', '/lists/red/members/bulk', { mode: 'add', csv });
    expect(done.json.applied.added).toBe(50);
    expect((await memberSnapshot(red().store)).byAddress.size).toBe(RED_MEMBERS.length + 50);
    expect(
      (await api('list:red:read', 'POST', '/lists/red/members/bulk', { mode: 'add', csv })).status,
    ).toBe(403);
  });

  it('lists held posts, shows one, and decides once', async () => {
    await site.receive('red', strangerPost('Held for the API', '<script>alert(1)</script>\n'));
    const held = await api('list:red:read', 'GET', '/lists/red/held');
    expect(held.status).toBe(200);
    const items = held.json.held ?? held.json.items ?? held.json;
    const post = (Array.isArray(items) ? items : []).find(
      (h: { subject: string }) => h.subject === 'Held for the API',
    );
    expect(post).toBeDefined();
    const one = await api('list:red:read', 'GET', `/lists/red/held/${post.id}`);
    expect(one.status).toBe(200);
    expect(JSON.stringify(one.json)).toContain('Held for the API');
    expect(
      (
        await api('list:red:read', 'POST', '/lists/red/held/decisions', {
          ids: [post.id],
          action: 'approve',
        })
      ).status,
    ).toBe(403);
    const decided = await api('list:red', 'POST', '/lists/red/held/decisions', {
      ids: [post.id],
      action: 'approve',
    });
    expect(decided.json.results[0].status).toBe('done');
    const again = await api('admin', 'POST', '/lists/red/held/decisions', {
      ids: [post.id],
      action: 'approve',
    });
    expect(again.json.results[0].status).toBe('already');
    const got = (to: string) => site.mailTo(to).filter((m) => m.includes('[Red] Held for the API'));
    await site.smtp.waitFor(() => RED_MEMBERS.every((m) => got(m).length >= 1), 60_000);
    for (const m of RED_MEMBERS) expect(got(m)).toHaveLength(1);
  }, 120_000);

  it('reads the queue, bounces, statistics and settings, and changes a setting', async () => {
    for (const path of ['/lists/red/queue', '/lists/red/bounces', '/lists/red/stats', '/lists/red'])
      expect((await api('list:red:read', 'GET', path)).status, path).toBe(200);
    const bad = await api('list:red', 'PATCH', '/lists/red/settings', { posting: 'everyone' });
    expect(bad.status).toBe(400);
    expect(
      (await api('list:red:read', 'PATCH', '/lists/red/settings', { subject_prefix: '[R] ' }))
        .status,
    ).toBe(403);
    const ok = await api('list:red', 'PATCH', '/lists/red/settings', { subject_prefix: '[R] ' });
    expect(ok.status).toBe(200);
    expect((await api('list:red', 'GET', '/lists/red')).json.settings.subject_prefix).toBe('[R] ');
    const file = await readFile(join(site.dir, 'lists', 'red.yaml'), 'utf8');
    expect(file).toContain('# The red list: comments survive a settings change on the web.');
    expect(file).toMatch(/subject_prefix: .?\[R\] /);
  }, 120_000);

  it('delivers each webhook event once, signed, to a receiver that failed twice', async () => {
    const outbox = site.web.site.current().runtime.webhooks;
    expect(outbox).toBeDefined();
    // Forced runs (the backoff skipped): two meet 500s for every event, the third delivers.
    for (let i = 0; i < 6; i++) await outbox!.run(true);
    const ok = hits.filter((h) => h.status === 200);
    expect(hits.filter((h) => h.status === 500)).toHaveLength(2 * ok.length);
    expect(ok.every((h) => h.signed)).toBe(true);
    const ids = ok.map((h) => h.id);
    expect(new Set(ids).size).toBe(ids.length); // each event once
    const types = ok.map((h) => h.type);
    expect(types.filter((t) => t === 'member.subscribed').length).toBeGreaterThanOrEqual(51);
    expect(types).toContain('member.unsubscribed');
    expect(types).toContain('post.approved');
    // The two refused tries were of events delivered later.
    for (const h of hits.filter((x) => x.status === 500)) expect(ids).toContain(h.id);
  }, 120_000);
});
