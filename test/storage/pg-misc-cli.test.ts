/**
 * `storage: {type: postgres}` keeps post counters and digest collections in the database,
 * through the real CLI on two "hosts" (two configurations, each with its own state_dir and
 * maildir out, one database): posts received on both hosts at once are numbered without a
 * number given twice, every one is collected into the list's one digest, and `malist digest`
 * run on both hosts at once sends that digest once, with every post in it.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { malist, readmeStorageHosts } from '../cli/run-malist.ts';
import { type Postgres, postgresAvailable, startPostgres } from '../helpers/postgres.ts';

const available = postgresAvailable();

const GREEN = `address: green@list.example.com
posting: open
subject_prefix: "[green %d] "
members:
  - alice@example.org
  - { address: dora@example.org, digest: true }
digest: { size_kb: 100000, max_age_hours: 10000 }
`;

const postMail = (i: number) =>
  [
    'From: Poster <poster@example.net>',
    'To: green@list.example.com',
    `Subject: post number ${i}`,
    `Message-ID: <green-${i}@example.net>`,
    'Date: Sat, 05 Dec 2026 10:00:00 +0000',
    '',
    `Body of post ${i}.`,
    '',
  ].join('\r\n');

/** The files delivered to `rcpt` in a host's maildir out. */
async function delivered(host: string, rcpt: string): Promise<string[]> {
  const dir = join(host, 'var/out', rcpt, 'new');
  const names = await readdir(dir).catch(() => [] as string[]);
  return Promise.all(names.map((n) => readFile(join(dir, n), 'latin1')));
}

describe.skipIf(!available)(
  'post counters and digests on PostgreSQL through the CLI, on two hosts',
  () => {
    let pg: Postgres;
    beforeAll(async () => {
      pg = await startPostgres();
    }, 120_000);
    afterAll(() => pg?.stop());

    it('posts on both hosts get unique numbers and go out in one digest, sent once', async () => {
      const url = await pg.createDatabase('misc_cli');
      const env = { DATABASE_URL: url };
      // README's storage example, as it is printed there, on both hosts.
      const hosts = await readmeStorageHosts();
      for (const host of hosts) {
        await mkdir(join(host, 'lists'), { recursive: true });
        await writeFile(join(host, 'lists/green.yaml'), GREEN);
      }
      const N = 6;
      for (let i = 0; i < N; i += 2) {
        const runs = await Promise.all(
          [i, i + 1].map((n) =>
            malist(['receive', '--config', hosts[n % 2]!, '--list', 'green'], {
              env,
              input: postMail(n),
            }),
          ),
        );
        for (const r of runs) expect(r.code, r.stderr).toBe(0);
      }
      // alice (a member reading each post) got every post once, across both hosts, each its
      // own number.
      const posts = [
        ...(await delivered(hosts[0]!, 'alice@example.org')),
        ...(await delivered(hosts[1]!, 'alice@example.org')),
      ];
      expect(posts).toHaveLength(N);
      const numbers = posts.map((p) => Number(/^Subject: \[green (\d+)\]/m.exec(p)?.[1]));
      expect(numbers.sort((a, b) => a - b)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
      expect(pg.psql('SELECT next FROM malist_post_counters', 'misc_cli')).toBe(`${N + 1}\n`);
      expect(
        pg.psql('SELECT count(*) FROM malist_digest_posts WHERE issue IS NULL', 'misc_cli'),
      ).toBe(`${N}\n`);

      // Both hosts send the due digest at once: one of them sends it.
      const sends = await Promise.all(
        hosts.map((host) => malist(['digest', '--force', '--config', host], { env })),
      );
      for (const s of sends) expect(s.code, s.stderr).toBe(0);
      const said = sends.map((s) => s.stdout).join('');
      expect(said.match(/green: sent Vol 1, Issue 1 to 1 member/g)).toHaveLength(1);
      const digests = [
        ...(await delivered(hosts[0]!, 'dora@example.org')),
        ...(await delivered(hosts[1]!, 'dora@example.org')),
      ];
      expect(digests).toHaveLength(1);
      const digest = await simpleParser(Buffer.from(digests[0]!, 'latin1'));
      expect(digest.subject).toBe('green Digest, Vol 1, Issue 1');
      const inside = digests[0]!.match(/^Message-ID: <green-\d+@example\.net>/gm) ?? [];
      expect(new Set(inside).size).toBe(N);

      // Nothing more to send from either host; neither keeps digests or counters in files.
      for (const host of hosts) {
        const again = await malist(['digest', '--force', '--config', host], { env });
        expect(again.stdout).toBe('no digest due\n');
        const state = await readdir(join(host, 'var/state')).catch(() => [] as string[]);
        expect(state).not.toContain('digest');
        const lists = await readdir(join(host, 'var/state/lists')).catch(() => [] as string[]);
        expect(lists).not.toContain('counters');
      }
    }, 240_000);
  },
);
