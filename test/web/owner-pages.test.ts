/**
 * The owner's and the member's pages in a real browser (Debian's chromium through
 * playwright-core), each checked against what is on disk afterwards: the queue page's retry
 * and drop (the spool's new/ and dead/), the settings form (the list's YAML, comments kept;
 * a bad value refused with the loader's own message, the file untouched), one member's
 * options, bounce record and re-enable, removal; a member unsubscribing on their own page;
 * the sign-in limits per address and per IP; cookies without `Secure` on plain http and
 * with it when the site's URL is https; and the statistics tables equal to what the
 * delivery log and the journal hold.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { BounceState } from '../../src/bounces/state.ts';
import { memberSnapshot } from '../../src/members/snapshot.ts';
import {
  CHROMIUM,
  launchChromium,
  RED_OWNER,
  signIn,
  startWebSite,
  type WebSite,
} from './harness.ts';

const ROOT = join(import.meta.dirname, '..', '..');

function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  const message = `${CHROMIUM} is missing: the owner-page browser tests are SKIPPED (apt-get install chromium).`;
  if (process.env.CI === 'true') throw new Error(`${message} Under CI=true this is a failure.`);
  console.warn(`\n${'!'.repeat(100)}\n!!! ${message}\n${'!'.repeat(100)}\n`);
  return false;
}

const available = chromiumAvailable();

function memberPost(from: string, subject: string): string {
  return (
    `From: ${from}\r\nTo: red@list.example.com\r\nSubject: ${subject}\r\n` +
    `Message-ID: <${subject.replace(/\W+/g, '-')}-${Date.now()}@example.com>\r\n` +
    `Date: Sat, 05 Dec 2026 06:00:00 +0000\r\nMIME-Version: 1.0\r\n` +
    `Content-Type: text/plain; charset=utf-8\r\n\r\nHello list.\r\n`
  );
}

describe.skipIf(!available)('the owner and member pages in chromium', () => {
  let site: WebSite;
  let browser: Browser;
  let owner: BrowserContext;
  const spool = (where: 'new' | 'dead') =>
    readdir(join(site.dir, 'spool', where)).catch(() => [] as string[]);
  const red = () => site.web.site.current().list('red')!;

  beforeAll(async () => {
    site = await startWebSite();
    browser = await launchChromium();
    owner = await signIn(browser, site, RED_OWNER);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  /** The full IDs in the queue page's forms for `verb`. */
  const ids = (page: Page, verb: string) =>
    page
      .locator(`form[action="/lists/red/queue/${verb}"] input[name=id]`)
      .evaluateAll((inputs) => inputs.map((i) => (i as HTMLInputElement).value));

  it('retries a deferred entry and drops one to a dead letter, then removes it (the spool agrees)', async () => {
    site.smtp.addRule({ stage: 'rcpt', recipient: 'bob@example.org', reply: { code: 451 } });
    await site.receive('red', memberPost('alice@example.com', 'Queue one'));
    const page = await owner.newPage();
    await page.goto(`${site.url}/lists/red/queue`);
    const waiting = await ids(page, 'retry');
    expect(waiting).toHaveLength(1);
    expect(await spool('new')).toEqual([waiting[0]]);
    expect(await page.textContent('main')).toContain('waiting');
    // Bob's server is back: "Retry now" delivers at once, and the entry leaves the spool.
    site.smtp.clearRules();
    await page.click(`form[action="/lists/red/queue/retry"] button[type=submit]`);
    await page.waitForSelector('text=1 delivered');
    expect(site.smtp.count('bob@example.org')).toBe(1);
    expect(await spool('new')).toEqual([]);
    expect(await page.textContent('main')).toContain('Nothing is waiting');

    // Deferred again; the owner gives up on it: a dead letter, then removed.
    site.smtp.addRule({ stage: 'rcpt', recipient: 'bob@example.org', reply: { code: 451 } });
    await site.receive('red', memberPost('alice@example.com', 'Queue two'));
    await page.goto(`${site.url}/lists/red/queue`);
    const [second] = await ids(page, 'retry');
    expect(second).toBeDefined();
    await page.click(`form[action="/lists/red/queue/drop"] button[type=submit]`);
    await page.waitForSelector('text=kept as a dead letter');
    expect(await spool('new')).toEqual([]);
    expect(await spool('dead')).toContain(second);
    expect(await page.locator('main').textContent()).toContain('bob@example.org');
    expect(await ids(page, 'drop')).toEqual([second]);
    await page.click(`form[action="/lists/red/queue/drop"] button[type=submit]`);
    await page.waitForSelector('text=dead letter removed');
    expect(await spool('dead')).not.toContain(second);
    expect(await page.textContent('main')).toContain('None.');
    expect(site.smtp.count('bob@example.org')).toBe(1); // the dropped post never went to bob
    site.smtp.clearRules();
    await page.close();
  }, 240_000);

  it('saves the settings into the YAML with its comments; a bad value shows the schema message', async () => {
    const file = join(site.dir, 'lists', 'red.yaml');
    const page = await owner.newPage();
    await page.goto(`${site.url}/lists/red/settings`);
    await page.fill('input[name=subject_prefix]', '[Rouge] ');
    await page.fill('textarea[name=footer]', 'Leave: https://lists.example.com/me');
    await page.selectOption('select[name=posting]', 'moderated');
    await page.fill('textarea[name=moderators]', 'mod@example.com\nmod2@example.com');
    await page.click('form[action="/lists/red/settings"] button[type=submit]');
    await page.waitForSelector('text=Saved.');
    const text = await readFile(file, 'utf8');
    expect(text).toContain('# The red list: comments survive a settings change on the web.');
    const yaml = parseYaml(text) as Record<string, unknown>;
    expect(yaml).toMatchObject({
      subject_prefix: '[Rouge] ',
      unit_options: { footer: { text: 'Leave: https://lists.example.com/me' } },
      posting: 'moderated',
      moderators: ['mod@example.com', 'mod2@example.com'],
      members: ['alice@example.com', 'bob@example.org', 'carol@example.net'],
    });
    expect(red().settings.posting).toBe('moderated'); // the site reloaded it
    // The form shows what was saved.
    expect(await page.inputValue('input[name=subject_prefix]')).toBe('[Rouge] ');

    // A bad moderator: refused with the message `malist check` gives, nothing written.
    await page.fill('textarea[name=moderators]', 'mod@example.com\nnot an address');
    await page.click('form[action="/lists/red/settings"] button[type=submit]');
    await page.waitForSelector('text=Not saved');
    const error = (await page.locator('.error').first().textContent()) ?? '';
    expect(await readFile(file, 'utf8')).toBe(text);
    // The same file checked by `malist check` in a copy of the configuration.
    const copy = `${site.dir}-check`;
    await cp(site.dir, copy, { recursive: true });
    await writeFile(
      join(copy, 'lists', 'red.yaml'),
      text.replace('mod2@example.com', 'not an address'),
    );
    const check = spawnSync(
      process.execPath,
      [join(ROOT, 'bin', 'malist.js'), 'check', '--config', copy],
      { encoding: 'utf8' },
    );
    await rm(copy, { recursive: true, force: true });
    const problem = /moderators[^\n]*/.exec(`${check.stdout}${check.stderr}`)?.[0] ?? '';
    expect(problem, `${check.stdout}${check.stderr}`).not.toBe('');
    // The message itself (after the file and line, which name the copy) is the same.
    const message = problem.replace(/^.*?moderators/, 'moderators');
    expect(error.replace(/\s+/g, ' ')).toContain(message.replace(/\s+/g, ' ').slice(0, 60));
    // Back to members-only posting for the other cases.
    await page.goto(`${site.url}/lists/red/settings`);
    await page.selectOption('select[name=posting]', 'members');
    await page.click('form[action="/lists/red/settings"] button[type=submit]');
    await page.waitForSelector('text=Saved.');
    expect(red().settings.posting).toBe('members');
    await page.close();
  }, 240_000);

  it("shows a member's bounce score and history, re-enables them, sets options, removes another", async () => {
    const now = Date.now();
    await new BounceState(join(site.dir, 'state'), 'red').change('bob@example.org', () => ({
      score: 5.5,
      updated: now,
      day: new Date(now).toISOString().slice(0, 10),
      day_added: 2,
      count: 4,
      seen: ['a', 'b', 'c', 'd'],
      last_diagnostic: '550 5.1.1 <bob@example.org>: mailbox unavailable',
      last_bounce: now,
      disabled_at: now,
      evidence: [
        {
          at: now - 86_400_000,
          source: 'verp',
          class: 'hard',
          diagnostic: '550 5.1.1 user unknown',
        },
        {
          at: now,
          source: 'verp',
          class: 'hard',
          diagnostic: '550 5.1.1 <bob@example.org>: mailbox unavailable',
          probe: true,
        },
      ],
    }));
    await red().store.update('bob@example.org', { nomail: true, nomail_reason: 'bounce' });
    const page = await owner.newPage();
    await page.goto(`${site.url}/lists/red/members/bob%40example.org`);
    const main = (await page.textContent('main')) ?? '';
    expect(main).toContain('set by bounces');
    expect(main).toMatch(/Score\s*5\.\d\d \(nomail at 5\)/);
    expect(main).toMatch(/Bounces counted\s*4/);
    expect(main).toContain('Disabled by bounces');
    const history = await page.locator('table.bounce-history tbody tr').allTextContents();
    expect(history).toHaveLength(2);
    expect(history[0]).toContain('550 5.1.1 user unknown');
    expect(history[1]).toContain('(probe)');
    await page.click('text=Re-enable delivery');
    await page.waitForSelector('text=Delivery re-enabled.');
    const bob = await red().store.get('bob@example.org');
    expect(bob?.nomail ?? false).toBe(false);
    const record = await new BounceState(join(site.dir, 'state'), 'red').get('bob@example.org');
    expect(record?.score).toBe(0); // starts again, as in Mailman
    expect(record?.disabled_at).toBeUndefined();
    expect(record?.evidence).toHaveLength(2); // the history stays
    expect(await page.textContent('main')).not.toContain('Re-enable delivery');

    // Options: moderate bob's posts and send him digests.
    await page.check('input[name=moderate]');
    await page.check('input[name=digest]');
    await page.click('text=Save options');
    await page.waitForSelector('text=Options saved.');
    expect(await red().store.get('bob@example.org')).toMatchObject({
      moderate: true,
      digest: true,
    });
    // An owner's nomail shows as theirs.
    await page.check('input[name=nomail]');
    await page.click('text=Save options');
    await page.waitForSelector('text=set by an owner');
    expect((await red().store.get('bob@example.org'))?.nomail_reason).toBe('admin');

    // Remove carol: gone from the store and from the members page.
    await page.goto(`${site.url}/lists/red/members/carol%40example.net`);
    await page.click('text=Remove carol@example.net from red');
    await page.waitForSelector('text=carol@example.net removed.');
    expect(await red().store.get('carol@example.net')).toBeUndefined();
    await page.goto(`${site.url}/lists/red/members`);
    expect(await page.locator('main table').textContent()).not.toContain('carol@example.net');
    await page.close();
  }, 240_000);

  it('lets a member unsubscribe on their own page', async () => {
    const dave = await signIn(browser, site, 'dave@example.com');
    const page = await dave.newPage();
    await page.goto(`${site.url}/me`);
    await page
      .locator('section[data-list=blue] form[action="/me/blue/unsubscribe"] button')
      .click();
    await page.waitForSelector('text=You are no longer subscribed to blue.');
    const blue = site.web.site.current().list('blue')!;
    expect((await memberSnapshot(blue.store)).byAddress.has('dave@example.com')).toBe(false);
    expect(await page.locator('section[data-list=blue]').count()).toBe(0);
    await dave.close();
  }, 240_000);

  it('answers sign-in attempts past the limit politely, per address and per IP', async () => {
    // Through the proxy (X-Real-IP from 127.0.0.1): each IP is its own client.
    const context = await browser.newContext({ extraHTTPHeaders: { 'X-Real-IP': '203.0.113.5' } });
    const page = await context.newPage();
    const ask = async (address: string) => {
      await page.goto(`${site.url}/login`);
      await page.fill('input[name=address]', address);
      const [answer] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/login') && r.request().method() === 'POST'),
        page.click('form[action="/login"] button[type=submit]'),
      ]);
      return answer;
    };
    for (let i = 0; i < 5; i++) expect((await ask('eve@example.com')).status()).toBe(200);
    const refused = await ask('eve@example.com');
    expect(refused.status()).toBe(429);
    expect(Number(refused.headers()['retry-after'])).toBeGreaterThan(0);
    expect(await page.textContent('main')).toContain(
      'Too many attempts. Try again in a few minutes.',
    );
    // Another address from the same IP is still fine: the limit was eve's.
    expect((await ask('frank@example.com')).status()).toBe(200);
    await context.close();

    // Per IP: 30 attempts from one address each, then the IP is refused whatever the address.
    const crowd = await browser.newContext({ extraHTTPHeaders: { 'X-Real-IP': '203.0.113.6' } });
    const first = await crowd.newPage();
    await first.goto(`${site.url}/login`);
    const csrf = await first.inputValue('input[name=_csrf]');
    const post = (address: string) =>
      crowd.request.post(`${site.url}/login`, {
        form: { _csrf: csrf, address },
        headers: { Origin: site.url },
      });
    for (let i = 0; i < 30; i++) expect((await post(`user${i}@example.com`)).status()).toBe(200);
    const over = await post('someone-new@example.com');
    expect(over.status()).toBe(429);
    expect(await over.text()).toContain('Too many attempts');
    expect(Number(over.headers()['retry-after'])).toBeGreaterThan(0);
    await crowd.close();
    // Nothing was mailed to addresses that have no part in a list.
    expect(site.mailTo('eve@example.com')).toEqual([]);
  }, 240_000);

  it('sets cookies without Secure on plain http, with Secure and __Host- when the site is https', async () => {
    const cookies = await owner.cookies(site.url);
    const session = cookies.find((c) => c.name === 'malist_session');
    expect(session).toMatchObject({ httpOnly: true, secure: false, sameSite: 'Strict' });
    // web.url https (the proxy terminates TLS): Secure, whatever the request came as.
    const https = await startWebSite({ mainExtra: 'web:\n  url: https://lists.example.com\n' });
    try {
      const r = await fetch(`${https.url}/login`);
      const set = r.headers.get('set-cookie') ?? '';
      expect(set).toMatch(/^__Host-malist_pre=/);
      expect(set).toMatch(/;\s*Secure/i);
      expect(set).toMatch(/;\s*HttpOnly/i);
      expect(set).toMatch(/;\s*SameSite=Strict/i);
      // X-Forwarded-Proto does not decide it: a plain site stays plain.
      const plain = await fetch(`${site.url}/login`, { headers: { 'X-Forwarded-Proto': 'https' } });
      expect(plain.headers.get('set-cookie') ?? '').not.toMatch(/Secure/i);
    } finally {
      await https.close();
    }
  }, 120_000);

  it('shows per-day figures equal to what the delivery log holds', async () => {
    // A known history: earlier days written to the delivery log as `malist run` writes
    // it (another list's line, a line too old, a post logged twice), and today's real
    // posts above (`malist receive` logged them, bob deferred).
    const log = join(site.dir, 'delivery.log');
    const day = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
    const earlier = [
      `${day(3)}T10:00:00.000Z list=red outcome=distributed recipients=3 refused=0 deferred=0 message-id=<h1@x>`,
      `${day(3)}T11:00:00.000Z list=red outcome=distributed recipients=2 refused=1 deferred=0 message-id=<h2@x>`,
      `${day(3)}T12:00:00.000Z list=red outcome=held recipients=0 refused=0 deferred=0 message-id=<h5@x> reason="not a member"`,
      `${day(2)}T09:00:00.000Z list=red outcome=partial recipients=1 refused=1 deferred=1 message-id=<h3@x>`,
      `${day(2)}T10:00:00.000Z list=red outcome=distributed recipients=1 refused=0 deferred=0 message-id=<h3@x>`,
      `${day(2)}T09:30:00.000Z list=blue outcome=distributed recipients=9 refused=9 deferred=9 message-id=<h4@x>`,
      `${day(40)}T09:30:00.000Z list=red outcome=distributed recipients=7 refused=7 deferred=7 message-id=<old@x>`,
    ];
    await writeFile(log, `${earlier.join('\n')}\n${await readFile(log, 'utf8').catch(() => '')}`);
    // What the log says, read here independently of the page's code.
    const want = new Map<
      string,
      {
        delivered: number;
        refused: number;
        deferred: number;
        posts: Set<string>;
        held: Set<string>;
      }
    >();
    for (const line of (await readFile(log, 'utf8')).split('\n')) {
      const m =
        // Lines malist wrote carry delivered= queued= before the Message-ID; a queue run's
        // line (outcome=queue-run) has none and repeats what the post's line counted.
        /^(\S{10})T\S+ list=red outcome=(?!queue-run )(\S+) recipients=(\d+) refused=(\d+) deferred=(\d+)(?: delivered=\d+ queued=\d+)? message-id=(\S+)/.exec(
          line,
        );
      if (!m || m[1]! < day(29)) continue;
      const d = want.get(m[1]!) ?? {
        delivered: 0,
        refused: 0,
        deferred: 0,
        posts: new Set<string>(),
        held: new Set<string>(),
      };
      d.delivered += Number(m[3]);
      d.refused += Number(m[4]);
      d.deferred += Number(m[5]);
      if (m[2] === 'distributed' || m[2] === 'partial') d.posts.add(m[6]!);
      if (m[2] === 'held') d.held.add(m[6]!);
      want.set(m[1]!, d);
    }
    expect(want.get(day(0))?.posts.size).toBe(2); // Queue one and two, above
    expect(want.get(day(2))?.posts.size).toBe(1); // h3, logged twice
    const expected = (d: string) => {
      const w = want.get(d);
      return [
        d,
        String(w?.delivered ?? 0),
        String(w?.deferred ?? 0),
        String(w?.refused ?? 0),
        String(w?.posts.size ?? 0),
        String(w?.held.size ?? 0),
      ];
    };

    const page = await owner.newPage();
    const table = async (caption: string) =>
      page
        .locator('table', { has: page.locator(`caption:has-text("${caption}")`) })
        .evaluate((t) =>
          [...t.querySelectorAll('tbody tr')].map((tr) =>
            [...tr.querySelectorAll('td')].map((td) => td.textContent ?? ''),
          ),
        );
    const shown = async () => {
      await page.goto(`${site.url}/lists/red/stats`);
      const recipients = await table('Recipients per day');
      const posts = await table('Posts per day');
      return recipients.map((r, i) => [...r, ...posts[i]!.slice(1)]);
    };
    // The log is read at most once a minute (the overview read it at sign-in): reload
    // until the history written above is in, for at most 90 s.
    const deadline = Date.now() + 90_000;
    let rows = await shown();
    while (rows.some((r) => r.join() !== expected(r[0]!).join()) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      rows = await shown();
    }
    expect(rows).toHaveLength(30);
    expect(rows).toEqual(rows.map((r) => expected(r[0]!)));
    expect(rows.at(-1)![0]).toBe(day(0));
    // The dead letter was removed above; the page says none.
    expect(await page.textContent('main')).toContain('Dead letters: 0');
    // The overview counts the same posts for the week.
    await page.goto(`${site.url}/`);
    const week = [0, 1, 2, 3, 4, 5, 6].reduce((n, i) => n + (want.get(day(i))?.posts.size ?? 0), 0);
    expect(await page.locator('main').textContent()).toContain(String(week));
    await page.close();
  }, 240_000);
});
