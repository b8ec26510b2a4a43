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
