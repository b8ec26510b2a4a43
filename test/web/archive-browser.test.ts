/**
 * The web archive in a real browser: Debian's chromium driven by playwright-core (never a
 * downloaded browser), on a whole installation whose posts are filed by the archive
 * distributor (`malist receive`, for real) and imported from an mbox (`importArchive`).
 * A reader opens a month, a thread and a permalink; finds a German and a Russian phrase;
 * downloads a thread's mbox and gets every stored post back byte for byte (mailparser reads
 * each); a hostile HTML post runs nothing; a members-only archive is a 404 until its member
 * signs in by the mailed link, a private one stays a 404 for members, and list names do
 * not leak.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { threadPosts } from '../../src/archive/browse.ts';
import { ArchiveIndex } from '../../src/archive/db.ts';
import { importArchive } from '../../src/archive/import.ts';
import { readStored } from '../../src/archive/read.ts';
import { messageIdSegment } from '../../src/list/archive.ts';
import { mboxRecord, unquoteMboxrd } from '../../src/mail/mbox.ts';
import { CHROMIUM, launchChromium, signIn, startWebSite, type WebSite } from './harness.ts';

function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  const message = `${CHROMIUM} is missing: the archive browser tests are SKIPPED (apt-get install chromium).`;
  if (process.env.CI === 'true') throw new Error(`${message} Under CI=true this is a failure.`);
  console.warn(`\n${'!'.repeat(100)}\n!!! ${message}\n${'!'.repeat(100)}\n`);
  return false;
}

const available = chromiumAvailable();

const ROOT_ID = 'release-plan.1@example.com';
const GERMAN_ID = 'gruesse.2@example.org';
const RUSSIAN_ID = 'privet.3@example.net';
const HOSTILE_ID = 'hostile.4@example.org';
const ODD_ID = 'a/b+c=d$e!f%g.5@example.com';

function mail(fields: {
  from: string;
  subject: string;
  id: string;
  date: string;
  refs?: string;
  type?: string;
  body: string;
  to?: string;
}): string {
  return [
    `From: ${fields.from}`,
    `To: ${fields.to ?? 'red@list.example.com'}`,
    `Subject: ${fields.subject}`,
    `Message-ID: <${fields.id}>`,
    `Date: ${fields.date}`,
    ...(fields.refs ? [`In-Reply-To: <${fields.refs}>`, `References: <${fields.refs}>`] : []),
    'MIME-Version: 1.0',
    fields.type ?? 'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    fields.body,
  ].join('\n');
}

/** red's history: a thread with a German and a Russian reply, a hostile HTML post, an odd Message-ID. */
const HISTORY = [
  mail({
    from: 'Alice Martin <alice@example.com>',
    subject: 'Release plan for 2.0',
    id: ROOT_ID,
    date: 'Tue, 03 Nov 2026 09:00:00 +0000',
    body: 'We ship 2.0 next week.\nFrom now on the branch is frozen.\n>From the changelog: nothing big.\n',
  }),
  mail({
    from: 'Bob Schmidt <bob@example.org>',
    subject: 'Re: Release plan for 2.0',
    id: GERMAN_ID,
    refs: ROOT_ID,
    date: 'Tue, 03 Nov 2026 10:00:00 +0000',
    body: 'Klingt gut, ich prüfe die Übersetzungen.\n\nViele Grüße aus München\n\nAlice Martin wrote:\n> We ship 2.0 next week.\n> From now on the branch is frozen.\n',
  }),
  mail({
    from: 'Carol <carol@example.net>',
    subject: 'Re: Release plan for 2.0',
    id: RUSSIAN_ID,
    refs: GERMAN_ID,
    date: 'Wed, 04 Nov 2026 08:00:00 +0000',
    body: 'Сервер перезапущен после обновления, проверьте рассылку.\n',
  }),
  mail({
    from: 'Bob Schmidt <bob@example.org>',
    subject: 'Look at this offer',
    id: HOSTILE_ID,
    date: 'Thu, 05 Nov 2026 12:00:00 +0000',
    type: 'Content-Type: text/html; charset=utf-8',
    body:
      '<html><body><p>Hello <b>readers</b></p><script>window.pwned=1;alert(1)</script>' +
      '<img src="x" onerror="window.pwned=2;alert(2)"><a href="javascript:window.pwned=3">click me</a>' +
      '<div style="width:expression(alert(4));background:url(javascript:alert(5))">styled</div>' +
      '<svg onload="alert(6)"></svg><iframe src="javascript:alert(7)"></iframe>' +
      '<form action="https://evil.example/"><input name="p"></form></body></html>\n',
  }),
  mail({
    from: 'Alice Martin <alice@example.com>',
    subject: 'Odd identifiers',
    id: ODD_ID,
    date: 'Fri, 06 Nov 2026 12:00:00 +0000',
    type: 'Content-Type: multipart/mixed; boundary="b1"',
    body: [
      '--b1',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'A Message-ID with a slash, a plus, a percent sign.',
      '--b1',
      'Content-Type: text/html; name="../../evil page.html"',
      'Content-Disposition: attachment; filename="../../evil page.html"',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('<script>alert(1)</script>').toString('base64'),
      '--b1--',
      '',
    ].join('\n'),
  }),
];

describe.skipIf(!available)('the web archive in chromium', () => {
  let site: WebSite;
  let browser: Browser;
  let work: string;

  beforeAll(async () => {
    site = await startWebSite({
      archive: true,
      mainExtra: 'defaults: { archive: { url: "https://lists.example.com" } }\n',
      blueExtra: 'archive: { web: public }\n',
      moreLists: {
        green:
          'address: green@list.example.com\nposting: members\nowners: [green-owner@example.com]\n' +
          'members: [alice@example.com]\narchive: { web: private }\n',
      },
    });
    work = await mkdtemp(join(tmpdir(), 'malist-archive-web-'));
    const mbox = join(work, 'red.mbox');
    await writeFile(
      mbox,
      Buffer.concat(HISTORY.map((m) => mboxRecord(Buffer.from(m), 'someone@example.com'))),
    );
    const index = ArchiveIndex.open(join(site.dir, 'archive'));
    try {
      expect((await importArchive(index, { list: 'red', source: mbox })).added).toBe(5);
      const one = (list: string, id: string) => {
        const file = join(work, `${list}.mbox`);
        return writeFile(
          file,
          mboxRecord(
            Buffer.from(
              mail({
                from: 'Dave <dave@example.com>',
                to: `${list}@list.example.com`,
                subject: `${list} news`,
                id,
                date: 'Mon, 02 Nov 2026 08:00:00 +0000',
                body: `Only in the ${list} archive.\n`,
              }),
            ),
            'dave@example.com',
          ),
        ).then(() => importArchive(index, { list, source: file }));
      };
      await one('blue', 'blue-news@example.com');
      await one('green', 'green-secret@example.com');
      // green's October: 60 threads, more than a month page shows.
      const october = join(work, 'green-october.mbox');
      await writeFile(
        october,
        Buffer.concat(
          Array.from({ length: 60 }, (_, i) =>
            mboxRecord(
              Buffer.from(
                mail({
                  from: 'Dave <dave@example.com>',
                  to: 'green@list.example.com',
                  subject: `October topic ${i + 1}`,
                  id: `october-${i + 1}@example.com`,
                  date: new Date(Date.UTC(2026, 9, 1, 0, i)).toUTCString(),
                  body: `Topic ${i + 1}.\n`,
                }),
              ),
              'dave@example.com',
            ),
          ),
        ),
      );
      expect((await importArchive(index, { list: 'green', source: october })).added).toBe(60);
    } finally {
      index.close();
    }
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await site?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('hides members-only and private archives when signed out, with the same 404 as no list at all', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const answers = new Map<string, string>();
    for (const path of ['/archive/red/', '/archive/green/', '/archive/nosuch/']) {
      const r = await page.goto(`${site.url}${path}`);
      expect(r?.status(), path).toBe(404);
      answers.set(path, (await page.textContent('main')) ?? '');
    }
    expect(new Set(answers.values()).size).toBe(1);
    for (const path of [
      `/archive/red/m/${ROOT_ID}`,
      `/archive/red/m/${ROOT_ID}/raw`,
      `/archive/red/t/${ROOT_ID}/mbox`,
      '/archive/red/2026-11.mbox',
      '/archive/red/feed.atom',
    ]) {
      const r = await context.request.get(`${site.url}${path}`);
      expect(r.status(), path).toBe(404);
      expect(await r.text()).not.toContain('Release plan');
    }
    // The public list is open to all, and the archives page names only it.
    await page.goto(`${site.url}/archive/`);
    const main = (await page.textContent('main')) ?? '';
    expect(main).toContain('blue');
    expect(main).not.toContain('red@list');
    expect(main).not.toContain('green');
    const blue = await page.goto(`${site.url}/archive/blue/`);
    expect(blue?.status()).toBe(200);
    // A search over every archive finds nothing of the hidden ones.
    await page.goto(`${site.url}/archive/search?q=archive`);
    expect(await page.textContent('main')).toContain('blue news');
    expect(await page.textContent('main')).not.toContain('green news');
    await context.close();
  }, 120_000);

  it('a member signs in by the mailed link and opens a month, a thread and a permalink', async () => {
    const context = await signIn(browser, site, 'alice@example.com');
    const page = await context.newPage();
    await page.goto(`${site.url}/archive/red/`);
    await page.click('a[href="/archive/red/2026-11"]');
    await page.waitForURL(/\/archive\/red\/2026-11$/);
    const month = (await page.textContent('main')) ?? '';
    expect(month).toContain('5 posts in 3 threads');
    expect(month).toContain('Release plan for 2.0');
    await page.click('text=Release plan for 2.0');
    await page.waitForURL(/\/archive\/red\/t\//);
    // Nested: the German reply under the root, the Russian one under it; quotes folded.
    const depths = await page.$$eval('div.nested', (ds) =>
      ds.map((d) => d.getAttribute('data-depth')),
    );
    expect(depths).toEqual(['0', '1', '2']);
    const german = page.locator('div.nested[data-depth="1"]');
    expect(await german.locator('pre.post-text').first().textContent()).toContain(
      'Viele Grüße aus München',
    );
    const quote = german.locator('details.quoted');
    expect(await quote.getAttribute('open')).toBeNull();
    expect(await quote.locator('pre').textContent()).toContain('> We ship 2.0 next week.');
    // The permalink, as Archived-At names it, with and without <>, and an odd Message-ID.
    for (const id of [RUSSIAN_ID, `<${RUSSIAN_ID}>`]) {
      const r = await page.goto(`${site.url}/archive/red/m/${encodeURIComponent(id)}`);
      expect(r?.status()).toBe(200);
      expect(await page.textContent('main')).toContain('Сервер перезапущен');
    }
    const odd = await page.goto(`${site.url}/archive/red/m/${messageIdSegment(ODD_ID)}`);
    expect(odd?.status()).toBe(200);
    expect(await page.textContent('main')).toContain('A Message-ID with a slash');
    // Its attachment: listed with its type, saved (never shown) under a name with no path.
    expect(await page.textContent('ul.attachments')).toContain('text/html');
    const file = await context.request.get(
      `${site.url}/archive/red/m/${messageIdSegment(ODD_ID)}/a/0`,
    );
    expect(file.status()).toBe(200);
    expect(file.headers()['content-disposition']).toBe(
      `attachment; filename="evil page.html"; filename*=UTF-8''evil%20page.html`,
    );
    expect(file.headers()['x-content-type-options']).toBe('nosniff');
    expect(file.headers()['content-security-policy']).toMatch(/default-src 'none'.*; sandbox$/);
    expect((await file.body()).toString()).toBe('<script>alert(1)</script>');
    // The member's green archive is private: staff only.
    expect((await page.goto(`${site.url}/archive/green/`))?.status()).toBe(404);
    await context.close();
  }, 240_000);

  it("a private archive opens to its owner; a month's threads come 50 a page", async () => {
    const context = await signIn(browser, site, 'green-owner@example.com');
    const page = await context.newPage();
    expect((await page.goto(`${site.url}/archive/green/`))?.status()).toBe(200);
    await page.goto(`${site.url}/archive/green/2026-10`);
    expect(await page.textContent('main')).toContain('60 posts in 60 threads');
    expect(await page.$$eval('table.threads tbody tr', (r) => r.length)).toBe(50);
    // The most recently active first.
    expect(await page.textContent('table.threads tbody tr:first-child')).toContain(
      'October topic 60',
    );
    await page.click('text=older →');
    await page.waitForURL(/\?page=2$/);
    expect(await page.textContent('p.pager')).toContain('page 2 of 2');
    expect(await page.$$eval('table.threads tbody tr', (r) => r.length)).toBe(10);
    expect(await page.textContent('table.threads tbody tr:last-child')).toContain(
      'October topic 1',
    );
    // Its owner has no part in red: red's archive is a 404 to them.
    expect((await page.goto(`${site.url}/archive/red/`))?.status()).toBe(404);
    await context.close();
  }, 240_000);

  it('finds a German and a Russian phrase, marked in the snippet, and filters by author and date', async () => {
    const context = await signIn(browser, site, 'bob@example.org');
    const page = await context.newPage();
    await page.goto(`${site.url}/archive/red/`);
    await page.fill('input[name=q]', '"Viele Grüße"');
    await page.click('form.archive-search button[type=submit]');
    await page.waitForURL(/search\?/);
    expect(await page.textContent('.search-count')).toContain('1 post found');
    expect(await page.textContent('ol.hits mark')).toBe('Viele Grüße');
    await page.goto(`${site.url}/archive/red/search?q=${encodeURIComponent('сервер перезапущен')}`);
    expect(await page.textContent('ol.hits')).toContain('Re: Release plan for 2.0');
    expect(await page.$$eval('ol.hits mark', (ms) => ms.map((m) => m.textContent))).toEqual([
      'Сервер',
      'перезапущен',
    ]);
    // Filters: from, and a date range that leaves the Russian reply out.
    await page.goto(`${site.url}/archive/red/search?q=release&from=carol%40example.net`);
    expect(await page.$$eval('ol.hits > li', (l) => l.length)).toBe(1);
    await page.goto(`${site.url}/archive/red/search?q=release&before=2026-11-03`);
    expect(await page.$$eval('ol.hits > li', (l) => l.length)).toBe(2);
    await page.goto(`${site.url}/archive/red/search?q=release&after=nonsense`);
    expect(await page.textContent('.error')).toContain('YYYY-MM-DD');
    // A query that would be FTS5 syntax is words, and markup in a query is text.
    await page.goto(`${site.url}/archive/red/search?q=${encodeURIComponent('<b>NEAR(x "')}`);
    expect(await page.$$('main b')).toHaveLength(0);
    await context.close();
  }, 240_000);

  it("downloads a thread's mbox: mailparser reads every post, each byte-identical to the stored one", async () => {
    const context = await signIn(browser, site, 'carol@example.net');
    const page = await context.newPage();
    await page.goto(`${site.url}/archive/red/t/${ROOT_ID}`);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('text=download the thread (mbox)'),
    ]);
    const path = await download.path();
    const { readFile } = await import('node:fs/promises');
    const bytes = await readFile(path);
    const records = bytes
      .toString('latin1')
      .split(/^(?=From \S+ \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}$)/m)
      .filter(Boolean);
    expect(records).toHaveLength(3);
    const index = ArchiveIndex.open(join(site.dir, 'archive'), { readonly: true });
    try {
      const posts = threadPosts(index, 'red', ROOT_ID);
      expect(posts.map((p) => p.messageId)).toEqual([ROOT_ID, GERMAN_ID, RUSSIAN_ID]);
      for (const [i, record] of records.entries()) {
        const message = unquoteMboxrd(
          Buffer.from(record.slice(record.indexOf('\n') + 1).replace(/\n$/, ''), 'latin1'),
        );
        const stored = await readStored(index.root, posts[i]!);
        expect(message.equals(stored), posts[i]!.messageId).toBe(true);
        const parsed = await simpleParser(message);
        expect(parsed.messageId).toBe(`<${posts[i]!.messageId}>`);
      }
      // The root's "From now on" line came back unquoted, and its ">From" line kept its one '>'.
      const root = await simpleParser(await readStored(index.root, posts[0]!));
      expect(root.text).toContain('\nFrom now on the branch is frozen.\n>From the changelog');
    } finally {
      index.close();
    }
    // The raw post is the stored bytes, as text, never sniffed.
    const raw = await context.request.get(`${site.url}/archive/red/m/${GERMAN_ID}/raw`);
    expect(raw.headers()['content-type']).toBe('text/plain; charset=utf-8');
    expect(raw.headers()['x-content-type-options']).toBe('nosniff');
    expect((await raw.body()).toString('utf8')).toContain('Viele Grüße aus München');
    const monthly = await context.request.get(`${site.url}/archive/red/2026-11.mbox`);
    expect(monthly.headers()['content-disposition']).toMatch(
      /^attachment; filename="red-2026-11.mbox"/,
    );
    expect((await monthly.body()).toString('latin1').match(/^From /gm)).toHaveLength(5);
    await context.close();
  }, 240_000);

  it('shows a hostile HTML post sanitised in a sandboxed frame: no script runs', async () => {
    const context = await signIn(browser, site, 'alice@example.com');
    const page = await context.newPage();
    const dialogs: string[] = [];
    const consoles: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.on('console', (m) => consoles.push(m.text()));
    await page.goto(`${site.url}/archive/red/m/${HOSTILE_ID}`);
    const frameElement = await page.waitForSelector('div.html-part iframe');
    // Sandboxed: no allow-scripts, no allow-same-origin (links may open a new tab).
    expect(await frameElement.getAttribute('sandbox')).toBe(
      'allow-popups allow-popups-to-escape-sandbox',
    );
    const frame = await frameElement.contentFrame();
    expect(frame).not.toBeNull();
    await frame!.waitForSelector('text=readers');
    expect(await frame!.textContent('body')).toContain('Hello readers');
    const html = await frame!.content();
    for (const bad of [
      '<script',
      'onerror',
      'javascript:',
      'expression(',
      '<svg',
      '<iframe',
      '<form',
    ])
      expect(html).not.toContain(bad);
    await page.waitForTimeout(500); // give an onerror or a timer the chance it must not get
    expect(dialogs).toEqual([]);
    for (const f of page.frames())
      expect(
        await f.evaluate(() => (window as unknown as { pwned?: number }).pwned),
      ).toBeUndefined();
    expect(consoles.filter((c) => /pwned|alert/i.test(c))).toEqual([]);
    await context.close();
  }, 240_000);

  it('files a post received for real: its Archived-At permalink is the page that shows it', async () => {
    const id = `live-${Date.now()}@example.com`;
    await site.receive(
      'red',
      mail({
        from: 'Alice Martin <alice@example.com>',
        subject: 'Filed as it goes out',
        id,
        date: new Date().toUTCString(),
        body: 'Это письмо пришло через malist receive.\n',
      }).replace(/\n/g, '\r\n'),
    );
    const copies = () => site.mailTo('bob@example.org').filter((m) => m.includes(id));
    await site.smtp.waitFor(() => copies().length > 0, 60_000);
    const archivedAt = /^Archived-At: <([^>]+)>/m.exec(copies()[0]!)?.[1];
    expect(archivedAt).toBe(`https://lists.example.com/archive/red/m/${id}`);
    expect(copies()[0]).toMatch(/^List-Archive: <https:\/\/lists\.example\.com\/archive\/red\/>/m);
    const context = await signIn(browser, site, 'bob@example.org');
    const page = await context.newPage();
    const r = await page.goto(`${site.url}${new URL(archivedAt!).pathname}`);
    expect(r?.status()).toBe(200);
    expect(await page.textContent('main')).toContain('Это письмо пришло через malist receive.');
    const feed = await context.request.get(`${site.url}/archive/red/feed.atom`);
    expect(feed.headers()['content-type']).toContain('application/atom+xml');
    expect(await feed.text()).toContain(`<id>${archivedAt}</id>`);
    await context.close();
  }, 240_000);
});
