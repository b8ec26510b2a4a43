/**
 * `storage: {type: postgres}` puts held mail and moderators' decisions in the database,
 * through the real CLI on two "hosts" (two configurations, each with its own state_dir and
 * maildir out, one database): a post `malist receive` holds on host A is listed by `malist
 * held list` on host B; approvals on both hosts at once release it once — each member gets
 * it once across both hosts' deliveries — and nothing of it is kept in either state_dir.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { malist, post, readmeStorageHosts } from '../cli/run-malist.ts';
import { type Postgres, postgresAvailable, startPostgres } from '../helpers/postgres.ts';

const available = postgresAvailable();

/** Recipients of `out/<rcpt>/new/*` whose own Message-ID (not a quoted one) is `id`. */
async function deliveriesOf(dir: string, id: string): Promise<string[]> {
  const found: string[] = [];
  const out = join(dir, 'var/out');
  for (const rcpt of await readdir(out).catch(() => [])) {
    for (const f of await readdir(join(out, rcpt, 'new')).catch(() => [])) {
      const text = await readFile(join(out, rcpt, 'new', f), 'latin1');
      const header = text.split(/\r?\n\r?\n/, 1)[0] ?? '';
      if (new RegExp(`^Message-ID:\\s*<${id.replace(/\./g, '\\.')}>`, 'mi').test(header))
        found.push(rcpt);
    }
  }
  return found.sort();
}

describe.skipIf(!available)('held mail on PostgreSQL through the CLI, on two hosts', () => {
  let pg: Postgres;
  beforeAll(async () => {
    pg = await startPostgres();
  }, 120_000);
  afterAll(() => pg?.stop());

  it('held by receive on A, listed and approved on B (racing A), delivered once', async () => {
    const url = await pg.createDatabase('held_cli');
    const env = { DATABASE_URL: url };
    // README's storage example, as it is printed there, on both hosts.
    const [hostA, hostB] = await readmeStorageHosts();

    const received = await malist(['receive', '--config', hostA, '--list', 'red'], {
      env,
      input: await readFile(post('03-non-member.eml')),
    });
    expect(received.code).toBe(0);
    expect(received.stderr).toMatch(/hold list=red <offer-88213@elsewhere\.example>/);
    expect(pg.psql("SELECT count(*) FROM malist_held WHERE state = 'held'", 'held_cli')).toBe(
      '1\n',
    );

    const listed = await malist(['held', 'list', '--json', '--config', hostB], { env });
    expect(listed.code).toBe(0);
    const { held } = JSON.parse(listed.stdout) as { held: Array<{ id: string; list: string }> };
    expect(held).toHaveLength(1);
    expect(held[0]?.list).toBe('red');
    const id = held[0]!.id;
    const shown = await malist(['held', 'show', id.slice(0, 12), '--config', hostB], { env });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`ID:      ${id}`);

    const [onA, onB] = await Promise.all([
      malist(['held', 'approve', id, '--config', hostA], { env }),
      malist(['held', 'approve', id, '--config', hostB], { env }),
    ]);
    const codes = [onA.code, onB.code].sort();
    expect(codes, `A: ${onA.stdout}${onA.stderr}\nB: ${onB.stdout}${onB.stderr}`).toEqual([0, 1]);
    const loser = onA.code === 1 ? onA : onB;
    expect(loser.stderr).toMatch(/already approved|no such held post/);

    const members = ['alice@example.org', 'archive@list.example.com', 'bob@example.net'];
    const both = [
      ...(await deliveriesOf(hostA, 'offer-88213@elsewhere.example')),
      ...(await deliveriesOf(hostB, 'offer-88213@elsewhere.example')),
    ].sort();
    expect(both.filter((r) => r !== 'carol@example.org')).toEqual(members);
    expect(both.filter((r) => r === 'carol@example.org')).toHaveLength(1);

    // Decided in the database; neither host keeps held mail or decisions in its files.
    expect(pg.psql("SELECT decision->>'action' FROM malist_decisions", 'held_cli')).toBe(
      'approve\n',
    );
    expect(pg.psql("SELECT count(*) FROM malist_held WHERE state = 'done'", 'held_cli')).toBe(
      '1\n',
    );
    for (const host of [hostA, hostB]) {
      const state = await readdir(join(host, 'var/state')).catch(() => []);
      expect(state).not.toContain('held');
      expect(state).not.toContain('moderation');
    }
    const after = await malist(['held', 'list', '--json', '--config', hostA], { env });
    expect(JSON.parse(after.stdout).held).toEqual([]);
  }, 180_000);
});
