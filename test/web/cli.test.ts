/**
 * `malist web passwd` and `malist web token create|list|revoke` run as the real command,
 * then used against `malist serve`'s server: the admin signs in with the password, the
 * token reads the API until it is revoked. The credential files are 0600.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebSite, type WebSite } from './harness.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'malist.js');

async function malist(
  args: string[],
  input = '',
): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  child.stdin.end(input);
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, out, err };
}

describe('malist web', () => {
  let site: WebSite;
  beforeAll(async () => {
    site = await startWebSite();
  }, 120_000);
  afterAll(() => site?.close());

  it('sets an admin password that signs in, refuses a wrong one', async () => {
    const set = await malist(['web', 'passwd', '--config', site.dir], 'correct horse battery\n');
    expect(set.code, set.err).toBe(0);
    expect((await stat(join(site.web.site.stateDir, 'web', 'admins.json'))).mode & 0o777).toBe(
      0o600,
    );
    const login = async (password: string) => {
      const first = await fetch(`${site.url}/admin/login`);
      const cookie = (first.headers.get('set-cookie') ?? '').split(';')[0]!;
      const csrf = /name="_csrf" value="([^"]+)"/.exec(await first.text())![1]!;
      return fetch(`${site.url}/admin/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie, origin: site.url, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ _csrf: csrf, user: 'admin', password }).toString(),
      });
    };
    expect((await login('wrong')).status).toBe(403);
    const ok = await login('correct horse battery');
    expect(ok.status).toBe(303);
    const session = (ok.headers.get('set-cookie') ?? '').split(';')[0]!;
    const lists = await fetch(`${site.url}/`, { headers: { cookie: session } });
    const html = await lists.text();
    expect(html).toContain('/lists/red');
    expect(html).toContain('/lists/blue');
  }, 120_000);

  it('makes, lists and revokes an API token', async () => {
    const made = await malist([
      'web',
      'token',
      'create',
      '--config',
      site.dir,
      '--scope',
      'list:red:read',
      '--name',
      'ci',
    ]);
    expect(made.code, made.err).toBe(0);
    const token = /malist_\S+/.exec(made.out)?.[0];
    expect(token).toBeDefined();
    expect((await stat(join(site.web.site.stateDir, 'web', 'api-tokens.json'))).mode & 0o777).toBe(
      0o600,
    );
    const get = () =>
      fetch(`${site.url}/api/v1/lists/red/members`, {
        headers: { Authorization: `Bearer ${token}` },
      });
    expect((await get()).status).toBe(200);
    const listed = await malist(['web', 'token', 'list', '--config', site.dir]);
    expect(listed.out).toContain('list:red:read');
    expect(listed.out).not.toContain(token!);
    const id = /tok_[0-9a-f]+/.exec(listed.out)![0];
    expect((await malist(['web', 'token', 'revoke', '--config', site.dir, id])).code).toBe(0);
    expect((await get()).status).toBe(401);
    const bad = await malist([
      'web',
      'token',
      'create',
      '--config',
      site.dir,
      '--scope',
      'everything',
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toContain('is not a scope');
  }, 120_000);
});
