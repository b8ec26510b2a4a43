/**
 * A whole installation for the web tests: a configuration directory (two lists, red and
 * blue, a queue delivering to the test SMTP server), `malist receive` run for real to hold
 * posts, and the web server (`startWeb`) on a free port. Mail the site sends — sign-in
 * links, approved posts — arrives at the test SMTP server.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';
import { type RunningWeb, startWeb } from '../../src/web/server.ts';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-server.ts';

const ROOT = join(import.meta.dirname, '..', '..');

export const RED_MEMBERS = ['alice@example.com', 'bob@example.org', 'carol@example.net'];
export const RED_MODERATOR = 'mod@example.com';
export const RED_OWNER = 'owner@example.com';
export const BLUE_OWNER = 'blue-owner@example.com';

export interface WebSite {
  dir: string;
  smtp: TestSmtpServer;
  web: RunningWeb;
  url: string;
  /** Runs `malist receive --list LIST` on `raw`; returns the exit code. */
  receive(list: string, raw: string | Buffer): Promise<number>;
  /** Mail accepted by the SMTP server for `to`, as text. */
  mailTo(to: string): string[];
  /** The link of the `n`th sign-in mail to `to` (1 = the first), once it arrived. */
  signInLink(to: string, n?: number): Promise<string>;
  close(): Promise<void>;
}

export interface WebSiteOptions {
  /** Extra malist.yaml text (e.g. a webhooks: block). */
  mainExtra?: string;
  /** Extra red.yaml text. */
  redExtra?: string;
  /** Extra blue.yaml text. */
  blueExtra?: string;
  /** More lists: file name (without .yaml) to its text. */
  moreLists?: Record<string, string>;
  /** Posts are also filed by an archive distributor into DIR/archive (the web archive reads it). */
  archive?: boolean;
  webhookEveryMs?: number;
}

export async function startWebSite(options: WebSiteOptions = {}): Promise<WebSite> {
  const dir = await mkdtemp(join(tmpdir(), 'malist-web-'));
  const smtp = await startSmtpServer();
  await mkdir(join(dir, 'lists'));
  await writeFile(
    join(dir, 'malist.yaml'),
    `state_dir: state\nservers:\n  out: { host: 127.0.0.1, port: ${smtp.port}, starttls: never }\n` +
      (options.archive
        ? 'distribute:\n  - { type: queue, server: out }\n  - { type: archive, dir: archive }\n'
        : 'distribute: { type: queue, server: out }\n') +
      `queue: { dir: spool }\n` +
      `delivery_log: delivery.log\n${options.mainExtra ?? ''}`,
  );
  await writeFile(
    join(dir, 'lists', 'red.yaml'),
    `# The red list: comments survive a settings change on the web.\n` +
      `address: red@list.example.com\nsubject_prefix: '[Red] '\nposting: members\nnon_member_action: hold\n` +
      `moderators: [${RED_MODERATOR}]\nowners: [${RED_OWNER}]\n` +
      `members:\n${RED_MEMBERS.map((m) => `  - ${m}\n`).join('')}${options.redExtra ?? ''}`,
  );
  await writeFile(
    join(dir, 'lists', 'blue.yaml'),
    `address: blue@list.example.com\nposting: members\nnon_member_action: hold\n` +
      `owners: [${BLUE_OWNER}]\nmembers:\n  - dave@example.com\n${options.blueExtra ?? ''}`,
  );
  for (const [name, text] of Object.entries(options.moreLists ?? {}))
    await writeFile(join(dir, 'lists', `${name}.yaml`), text);
  const web = await startWeb({
    dir,
    port: 0,
    ...(options.webhookEveryMs ? { webhookEveryMs: options.webhookEveryMs } : {}),
  });
  const mailTo = (to: string) =>
    smtp.accepted.filter((m) => m.to.includes(to)).map((m) => m.raw.toString('utf8'));
  return {
    dir,
    smtp,
    web,
    url: web.url,
    async receive(list, raw) {
      // Not spawnSync: the notices it sends go to the SMTP server in this very process.
      const child = spawn(
        process.execPath,
        [join(ROOT, 'bin', 'malist.js'), 'receive', '--config', dir, '--list', list],
        { stdio: ['pipe', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      child.stdin.end(raw);
      const [code] = (await once(child, 'exit')) as [number | null];
      if (code !== 0) throw new Error(`malist receive exited ${code}: ${stderr}`);
      return code;
    },
    mailTo,
    async signInLink(to, n = 1) {
      const links = () =>
        smtp.accepted.filter(
          (m) => m.to.includes(to) && /^Subject: Sign in to/m.test(m.raw.toString('latin1')),
        );
      await smtp.waitFor(() => links().length >= n, 60_000);
      const text = (await simpleParser(links()[n - 1]!.raw)).text ?? '';
      const link = /(http:\/\/\S+\/login\/verify\?token=\S+)/.exec(text);
      if (!link) throw new Error(`no sign-in link in: ${text}`);
      return link[1]!;
    },
    async close() {
      await web.close();
      await smtp.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A non-member's post to red (held: not a member). */
export function strangerPost(subject: string, body = 'Hello from outside.\n'): string {
  return (
    `From: Stranger <stranger@elsewhere.example>\r\nTo: red@list.example.com\r\n` +
    `Subject: ${subject}\r\nMessage-ID: <${subject.replace(/\W+/g, '-')}-${Date.now()}@elsewhere.example>\r\n` +
    `Date: Sat, 05 Dec 2026 05:00:00 +0000\r\nMIME-Version: 1.0\r\n` +
    `Content-Type: text/plain; charset=utf-8\r\n\r\n${body.replace(/\n/g, '\r\n')}`
  );
}

/** Debian's chromium, driven by playwright-core (never a downloaded browser). */
export const CHROMIUM = '/usr/bin/chromium';

/** Chromium headless as root on a machine without network (each launch a fresh profile). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** How many sign-in links each address of a site was sent (the next one to read is n + 1). */
const signInsOf = new WeakMap<WebSite, Map<string, number>>();

/** A browser context (`context`, else a new one) signed in as `address` by the link mailed to it. */
export async function signIn(
  browser: Browser,
  site: WebSite,
  address: string,
  context?: BrowserContext,
): Promise<BrowserContext> {
  const ctx = context ?? (await browser.newContext());
  const page = await ctx.newPage();
  await page.goto(`${site.url}/login`);
  await page.fill('input[name=address]', address);
  await page.click('form[action="/login"] button[type=submit]');
  await page.waitForSelector('text=sign-in link is on its way');
  const sent = signInsOf.get(site) ?? new Map<string, number>();
  signInsOf.set(site, sent);
  const n = (sent.get(address) ?? 0) + 1;
  sent.set(address, n);
  await page.goto(await site.signInLink(address, n));
  await page.click('form[action="/login/verify"] button[type=submit]');
  await page.waitForURL((url) => !url.pathname.startsWith('/login'));
  await page.close();
  return ctx;
}
