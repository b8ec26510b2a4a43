/**
 * One archive for two hosts on one PostgreSQL database (each its own configuration and state
 * directory, `storage: postgres`): a post `malist receive` distributes on host A is found by
 * host B's web archive search, its page and its raw download (HTTP of the site `malist
 * serve` runs, test/web/harness.ts); A's archive directory holds no files; the same post
 * received on B as well is archived once.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pgSites } from '../helpers/pg-sites.ts';
import { postgresAvailable } from '../helpers/postgres.ts';
import { RED_MEMBERS } from '../web/harness.ts';

const available = postgresAvailable();

const memberPost = (subject: string, body: string) =>
  `From: Alice <${RED_MEMBERS[0]}>\r\nTo: red@list.example.com\r\nSubject: ${subject}\r\n` +
  `Message-ID: <hosts-archive@example.com>\r\nDate: Sat, 05 Dec 2026 05:00:00 +0000\r\n` +
  `MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n` +
  `Content-Transfer-Encoding: 8bit\r\n\r\n${body}\r\n`;

describe.skipIf(!available)('one archive for two hosts on PostgreSQL', () => {
  const hosts = pgSites('archive_hosts');

  it("B's web archive finds the post A archived; the same post on both is archived once", async () => {
    const options = { archive: true, redExtra: 'archive: { web: public }\n' };
    const a = await hosts.site(options);
    const b = await hosts.site(options);
    const raw = memberPost('Zeppelin over Köln', 'A zeppelin drifts over the Dom, slowly.');
    expect(await a.receive('red', raw)).toBe(0);
    expect(hosts.pg.psql('SELECT count(*) FROM malist_archive', 'archive_hosts')).toBe('1\n');
    // On PostgreSQL the post is a row, not a file on A.
    expect(await readdir(join(a.dir, 'archive')).catch(() => [])).toEqual([]);

    const search = await fetch(`${b.url}/archive/red/search?q=zeppelin+dom`);
    expect(search.status).toBe(200);
    const html = await search.text();
    expect(html).toContain('Zeppelin over Köln');
    expect(html).toContain('hosts-archive@example.com');
    const miss = await (await fetch(`${b.url}/archive/red/search?q=airship`)).text();
    expect(miss).not.toContain('Zeppelin over Köln');
    const page = await fetch(`${b.url}/archive/red/m/hosts-archive@example.com`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('drifts over the Dom');
    const stored = await fetch(`${b.url}/archive/red/m/hosts-archive@example.com/raw`);
    expect(stored.status).toBe(200);
    expect(Buffer.from(await stored.arrayBuffer()).toString('utf8')).toContain(
      'A zeppelin drifts over the Dom, slowly.\r\n',
    );
    const feed = await (await fetch(`${b.url}/archive/red/feed.atom`)).text();
    expect(feed).toContain('Zeppelin over Köln');

    // The same post reaches B too (a second MX): still one post in the archive.
    expect(await b.receive('red', raw)).toBe(0);
    expect(
      hosts.pg.psql(
        "SELECT count(*) FROM malist_archive WHERE message_id = 'hosts-archive@example.com'",
        'archive_hosts',
      ),
    ).toBe('1\n');
  }, 240_000);
});
