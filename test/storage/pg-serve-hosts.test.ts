/**
 * The web front on host B reads what host A wrote, both on one PostgreSQL database (each its
 * own configuration and state directory): a post `malist receive` holds on A is listed by
 * B's web API (`GET /api/v1/lists/red/held`, an API token made on B). The site is the one
 * `malist serve` runs (test/web/harness.ts starts it in this process); HTTP fetch only.
 */
import { describe, expect, it } from 'vitest';
import { malist } from '../cli/run-malist.ts';
import { pgSites } from '../helpers/pg-sites.ts';
import { postgresAvailable } from '../helpers/postgres.ts';
import { strangerPost, type WebSite } from '../web/harness.ts';

const available = postgresAvailable();

describe.skipIf(!available)('malist serve on host B, state written on host A', () => {
  // Both hosts' malist.yaml name the URL by url_env; the children inherit it.
  const hosts = pgSites('serve_hosts');

  it("lists on B's web API the post A held", async () => {
    const a = await hosts.site();
    const b = await hosts.site();
    expect(await a.receive('red', strangerPost('held on host A'))).toBe(0);
    expect(
      hosts.pg.psql("SELECT count(*) FROM malist_held WHERE state = 'held'", 'serve_hosts'),
    ).toBe('1\n');
    const made = await malist([
      'web',
      'token',
      'create',
      '--config',
      b.dir,
      '--scope',
      'list:red:read',
      '--name',
      'ci',
    ]);
    expect(made.code, made.stderr).toBe(0);
    const token = /malist_\S+/.exec(made.stdout)?.[0];
    const held = async (site: WebSite) => {
      const res = await fetch(`${site.url}/api/v1/lists/red/held`, {
        headers: { Authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(200);
      return ((await res.json()) as { held: Array<{ subject?: string }> }).held;
    };
    const onB = await held(b);
    expect(onB).toHaveLength(1);
    expect(JSON.stringify(onB)).toContain('held on host A');
  }, 240_000);
});
