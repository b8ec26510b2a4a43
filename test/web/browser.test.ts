/**
 * The web face in a real browser: Debian's chromium driven by playwright-core (never a
 * downloaded browser). A moderator signs in by the mailed link and approves a held post,
 * which the members receive once; an owner imports 1,000 members from a CSV after seeing
 * the difference; a member switches to digest; a form posted from another origin and a
 * cross-list visit fail; the statistics page is drawn and saved as a screenshot
 * (var/test-artifacts/, not committed).
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memberSnapshot } from '../../src/members/snapshot.ts';
import { fixture } from '../posting/corpus.ts';
import {
  BLUE_OWNER,
  CHROMIUM,
  launchChromium,
  RED_MEMBERS,
  RED_MODERATOR,
  RED_OWNER,
  signIn,
  startWebSite,
  strangerPost,
  type WebSite,
} from './harness.ts';

const ARTIFACTS = join(import.meta.dirname, '..', '..', 'var', 'test-artifacts');

function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  const message = `${CHROMIUM} is missing: the browser tests are SKIPPED (apt-get install chromium).`;
  if (process.env.CI === 'true') throw new Error(`${message} Under CI=true this is a failure.`);
  console.warn(`\n${'!'.repeat(100)}\n!!! ${message}\n${'!'.repeat(100)}\n`);
  return false;
}

const available = chromiumAvailable();

describe.skipIf(!available)('the web face in chromium', () => {
  let site: WebSite;
  let browser: Browser;

  beforeAll(async () => {
    site = await startWebSite();
    // launch() gives every run a fresh temporary profile (its own --user-data-dir).
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  it('a moderator signs in by the mailed link, approves a held post; members get it once', async () => {
    await site.receive('red', strangerPost('Please let me in'));
    const context = await signIn(browser, site, RED_MODERATOR);
    const page = await context.newPage();
    // A second tab with the same queue open: its click comes after the first decision.
    const second = await context.newPage();
    for (const p of [page, second]) {
      await p.goto(`${site.url}/lists/red/held`);
      expect(await p.textContent('main')).toContain('Please let me in');
    }
    await page.check('input[name=id]');
    await page.click('button[value=approve]');
    await page.waitForSelector('text=Nothing is held');
    const got = (to: string) => site.mailTo(to).filter((m) => m.includes('[Red] Please let me in'));
    await site.smtp.waitFor(() => RED_MEMBERS.every((m) => got(m).length >= 1), 60_000);
    await second.check('input[name=id]');
    await second.click('button[value=approve]');
    await second.waitForSelector('text=already');
    for (const m of RED_MEMBERS) expect(got(m)).toHaveLength(1);
    expect(got('stranger@elsewhere.example')).toHaveLength(0);
    await context.close();
  }, 240_000);

  it('a CSRF attempt from another origin and a cross-list visit both fail', async () => {
    await site.receive('red', strangerPost('Keep me held'));
    const context = await signIn(browser, site, RED_MODERATOR);
    // An attacker's page on another origin posts the moderator's form with a guessed id.
    const attacker: Server = createServer((_req, res) => {
      res.setHeader('Content-Type', 'text/html');
      res.end(
        `<form method="post" action="${site.url}/lists/red/held/decide">` +
          `<input name="action" value="discard"><input name="id" value="x">` +
          `<input name="_csrf" value="guess"><button id="go">win a prize</button></form>`,
      );
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    const port = (attacker.address() as { port: number }).port;
    const page = await context.newPage();
    await page.goto(`http://localhost:${port}/`);
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.url().includes('/held/decide')),
      page.click('#go'),
    ]);
    expect(answer.status()).toBe(403);
    attacker.close();
    await page.goto(`${site.url}/lists/red/held`);
    expect(await page.textContent('main')).toContain('Keep me held');
    // red's moderator sees nothing of blue: the same answer as for a list that does not exist.
    for (const path of [
      '/lists/blue/held',
      '/lists/blue/members',
      '/lists/blue',
      '/lists/red/members',
    ]) {
      const r = await page.goto(`${site.url}${path}`);
      expect(r?.status(), path).toBe(404);
      expect(await page.textContent('main')).not.toContain('dave@example.com');
    }
    await context.close();
    // blue's owner does not see red's held post either.
    const blue = await signIn(browser, site, BLUE_OWNER);
    const bluePage = await blue.newPage();
    const r = await bluePage.goto(`${site.url}/lists/red/held`);
    expect(r?.status()).toBe(404);
    expect(await bluePage.content()).not.toContain('Keep me held');
    await blue.close();
  }, 240_000);

  it('an owner imports 1,000 members from a CSV, seeing the difference first', async () => {
    const started = Date.now();
    const context = await signIn(browser, site, RED_OWNER);
    const page = await context.newPage();
    await page.goto(`${site.url}/lists/red/members/import`);
    const csv = ['address,name'];
    for (let i = 0; i < 1000; i++) csv.push(`new${i}@import.example,New Member ${i}`);
    await page.setInputFiles('input[name=file]', {
      name: 'members.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(`${csv.join('\n')}\n`),
    });
    await page.click('form[enctype="multipart/form-data"] button[type=submit]');
    await page.waitForSelector('.diff-summary');
    expect(await page.textContent('.diff-summary')).toMatch(/1000 to add, 0 to remove/);
    const red = () => site.web.site.current().list('red')!;
    expect((await memberSnapshot(red().store)).byAddress.size).toBe(3); // nothing yet
    // Each member is one write through the list's store: give a loaded machine time.
    await page.click('form[action="/lists/red/members/import/apply"] button[type=submit]', {
      timeout: 300_000,
    });
    await page.waitForSelector('text=The import is done', { timeout: 300_000 });
    expect((await memberSnapshot(red().store)).byAddress.size).toBe(1003);
    console.log(`import of 1,000 members: ${Date.now() - started} ms (incl. sign-in)`);
    await page.goto(`${site.url}/lists/red/members?q=new999%40`);
    expect(await page.textContent('main')).toContain('new999@import.example');
    await context.close();
  }, 600_000);

  it('a member opens their page and switches to digest', async () => {
    const context = await signIn(browser, site, 'alice@example.com');
    const page = await context.newPage();
    await page.goto(`${site.url}/me`);
    const form = page.locator('section[data-list=red] form[action="/me/red/options"]');
    await form.locator('input[name=digest]').check();
    await form.locator('button[type=submit]').click();
    await page.waitForLoadState('load');
    const alice = (await memberSnapshot(site.web.site.current().list('red')!.store)).byAddress.get(
      'alice@example.com',
    );
    expect(alice?.digest).toBe(true);
    // A member has no staff page.
    expect((await page.goto(`${site.url}/lists/red/held`))?.status()).toBe(404);
    await context.close();
  }, 240_000);

  it('shows hostile mail escaped: nothing executes, nothing leaks to another list', async () => {
    const evil = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1">';
    const ew = `=?utf-8?B?${Buffer.from(`Hi ${evil}`).toString('base64')}?=`;
    const posts = [
      // a script in the subject (encoded word), in the From name, and an HTML body
      `From: =?utf-8?Q?=3Cscript=3Ewindow.=5F=5Fpwned=3D1=3C/script=3E?= <evil@elsewhere.example>\r\n` +
        `To: red@list.example.com\r\nSubject: ${ew}\r\nMessage-ID: <evil-1@elsewhere.example>\r\n` +
        `MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>body</p>${evil}\r\n`,
      // an encoded word that decodes to CR/LF and a forged header, and a huge header
      `From: evil@elsewhere.example\r\nTo: red@list.example.com\r\n` +
        `Subject: =?utf-8?Q?line=0D=0AX-Injected:_yes=0D=0A=0D=0A<script>window.__pwned=1</script>?=\r\n` +
        `X-Huge: ${'A'.repeat(200_000)}\r\nMessage-ID: <evil-2@elsewhere.example>\r\n` +
        `MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n` +
        `--b\r\nContent-Type: text/plain\r\n\r\n${evil}\r\n--b\r\n` +
        `Content-Type: text/html; name="${evil}.html"\r\nContent-Disposition: attachment; filename="x${evil}.html"\r\n\r\n${evil}\r\n--b--\r\n`,
    ];
    for (const raw of posts) await site.receive('red', raw);
    await site.receive('red', fixture('018')); // a real huge folded To header
    const context = await signIn(browser, site, RED_MODERATOR);
    const page = await context.newPage();
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.goto(`${site.url}/lists/red/held`);
    const links = await page
      .locator('main a[href^="/lists/red/held/"]')
      .evaluateAll((as) => as.map((a) => (a as HTMLAnchorElement).href));
    expect(links.length).toBeGreaterThanOrEqual(3);
    for (const url of [`${site.url}/lists/red/held`, ...links]) {
      await page.goto(url);
      const state = await page.evaluate(() => ({
        pwned: (window as unknown as { __pwned?: number }).__pwned,
        active: document.querySelectorAll('main script, main img, main iframe, main [onerror]')
          .length,
        text: document.querySelector('main')?.textContent ?? '',
      }));
      expect(state.pwned, url).toBeUndefined();
      expect(state.active, url).toBe(0);
      if (url !== `${site.url}/lists/red/held`) expect(state.text.length).toBeGreaterThan(0);
    }
    expect(await page.content()).not.toMatch(/<script>window/);
    expect(dialogs).toEqual([]);
    await context.close();
    // blue's owner meets none of it.
    const blue = await signIn(browser, site, BLUE_OWNER);
    const bluePage = await blue.newPage();
    for (const path of [
      '/',
      '/lists/blue',
      '/lists/blue/held',
      ...links.map((l) => new URL(l).pathname),
    ]) {
      await bluePage.goto(`${site.url}${path}`);
      expect(await bluePage.content(), path).not.toContain('pwned');
    }
    await blue.close();
  }, 300_000);

  it('draws the statistics page (screenshot saved as an artifact)', async () => {
    const context = await signIn(browser, site, RED_MODERATOR);
    const page = await context.newPage();
    const refused: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') refused.push(m.text());
    });
    await page.goto(`${site.url}/lists/red/stats`);
    await page.waitForSelector('div.chart canvas');
    expect(await page.locator('table[data-chart]').count()).toBeGreaterThan(0);
    await mkdir(ARTIFACTS, { recursive: true });
    const png = await page.screenshot({ fullPage: true });
    await writeFile(join(ARTIFACTS, 'stats.png'), png);
    expect(png.length).toBeGreaterThan(1000);
    expect(refused).toEqual([]); // nothing blocked by the CSP
    await context.close();
  }, 240_000);
});
