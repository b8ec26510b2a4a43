/**
 * The README's nginx example, run for real: the test takes the ```nginx block out of
 * README.md, changes only what a test must (the port, a self-signed certificate made by
 * openssl, the upstream's port, paths in a temporary directory), starts nginx in front of
 * `malist serve` and goes through it: a member's one-click unsubscribe (RFC 8058 POST, the
 * URL taken from the List-Unsubscribe header of a real post), and an owner signed in by the
 * mailed link who opens the members page and adds a member — with a `__Host-`, Secure
 * cookie, since the site's URL is https. A missing nginx is skipped loudly, a failure
 * under CI=true (.ci/run installs nginx-light).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-server.ts';
import { launchChromium } from './harness.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const NGINX = '/usr/sbin/nginx';
const CHROMIUM = '/usr/bin/chromium';

function available(): boolean {
  const missing = [NGINX, CHROMIUM, '/usr/bin/openssl'].filter((p) => !existsSync(p));
  if (missing.length === 0) return true;
  const message = `${missing.join(', ')} missing: the README's nginx example is NOT tested (apt-get install nginx-light chromium openssl).`;
  if (process.env.CI === 'true') throw new Error(`${message} Under CI=true this is a failure.`);
  console.warn(`\n${'!'.repeat(100)}\n!!! ${message}\n${'!'.repeat(100)}\n`);
  return false;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The README's nginx server block, as an operator would copy it. */
export async function readmeNginx(): Promise<string> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const block = /```nginx\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('README.md has no ```nginx block');
  return block;
}

/** POST over https trusting `ca`; the status and body. */
function httpsPost(url: string, body: string, ca: Buffer) {
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        ca,
        headers: {
          'Content-Type': 'application/x-www-form-urlencoded',
          'Content-Length': Buffer.byteLength(body),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => {
          text += d.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe.skipIf(!available())("the README's nginx example in front of malist serve", () => {
  let dir: string;
  let smtp: TestSmtpServer;
  let serve: ChildProcess | undefined;
  let nginx: ChildProcess | undefined;
  let url: string;
  let cert: Buffer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'malist-nginx-'));
    smtp = await startSmtpServer();
    const port = await freePort();
    const upstream = await freePort();
    url = `https://127.0.0.1:${port}`;
    // A certificate for 127.0.0.1, made here.
    const made = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { encoding: 'utf8' },
    );
    if (made.status !== 0) throw new Error(`openssl: ${made.stderr}`);
    cert = await readFile(join(dir, 'cert.pem'));

    // The installation: one list whose posts carry a one-click link through the proxy.
    await mkdir(join(dir, 'lists'));
    await writeFile(
      join(dir, 'malist.yaml'),
      `state_dir: state\nservers:\n  out: { host: 127.0.0.1, port: ${smtp.port}, starttls: never }\n` +
        `distribute: { type: queue, server: out }\nqueue: { dir: spool }\n` +
        `web:\n  url: ${url}\n  listen: 127.0.0.1:${upstream}\n`,
    );
    await writeFile(
      join(dir, 'lists', 'red.yaml'),
      `address: red@list.example.com\nposting: members\nowners: [owner@example.com]\n` +
        `unsubscribe_url: ${url}/unsubscribe/{list}/{member}/{token}\n` +
        `members:\n  - alice@example.com\n  - bob@example.org\n`,
    );
    serve = spawn(process.execPath, [join(ROOT, 'bin', 'malist.js'), 'serve', '--config', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    serve.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
    });
    await new Promise<void>((resolve, reject) => {
      serve!.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('listening on')) resolve();
      });
      serve!.once('exit', (code) => reject(new Error(`malist serve exited ${code}: ${err}`)));
    });

    // The README's block; only the port, the certificate and the upstream's port change.
    const block = (await readmeNginx())
      .replace(/listen\s+443\s+ssl;/, `listen 127.0.0.1:${port} ssl;`)
      .replace(/ssl_certificate\s+\S+;/, `ssl_certificate ${join(dir, 'cert.pem')};`)
      .replace(/ssl_certificate_key\s+\S+;/, `ssl_certificate_key ${join(dir, 'key.pem')};`)
      .replace('http://127.0.0.1:8025', `http://127.0.0.1:${upstream}`);
    expect(block).toContain(`proxy_pass http://127.0.0.1:${upstream};`);
    const temp = (name: string) => `${name}_temp_path ${join(dir, `nginx-${name}`)};`;
    await writeFile(
      join(dir, 'nginx.conf'),
      `daemon off;\nmaster_process off;\npid ${join(dir, 'nginx.pid')};\n` +
        `error_log ${join(dir, 'nginx-error.log')} warn;\nevents { worker_connections 64; }\n` +
        `http {\n  access_log ${join(dir, 'nginx-access.log')};\n` +
        `  ${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temp).join('\n  ')}\n` +
        `${block}}\n`,
    );
    nginx = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let nginxErr = '';
    nginx.stderr!.on('data', (d: Buffer) => {
      nginxErr += d.toString();
    });
    // Up once it answers the sign-in page through the proxy.
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (nginx.exitCode !== null) throw new Error(`nginx exited ${nginx.exitCode}: ${nginxErr}`);
      const ok = await httpsPost(`${url}/nothing`, '', cert).then(
        () => true,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`nginx did not start: ${nginxErr}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }, 120_000);

  afterAll(async () => {
    for (const child of [nginx, serve])
      if (child && child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
    await smtp?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('carries a one-click unsubscribe POST from a real post', async () => {
    const post =
      'From: alice@example.com\r\nTo: red@list.example.com\r\nSubject: through the proxy\r\n' +
      `Message-ID: <proxy-${Date.now()}@example.com>\r\n\r\nHello.\r\n`;
    // Not spawnSync: the post goes to the SMTP server in this very process.
    const receive = spawn(
      process.execPath,
      [join(ROOT, 'bin', 'malist.js'), 'receive', '--config', dir, '--list', 'red'],
      { stdio: ['pipe', 'ignore', 'pipe'] },
    );
    let stderr = '';
    receive.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    receive.stdin!.end(post);
    const [code] = (await once(receive, 'exit')) as [number | null];
    expect(code, stderr).toBe(0);
    await smtp.waitFor(() => smtp.count('bob@example.org') >= 1, 60_000);
    const copy = smtp.accepted.find((m) => m.to.includes('bob@example.org'))!;
    const head = copy.raw
      .toString('latin1')
      .split('\r\n\r\n')[0]!
      .replace(/\r\n[ \t]+/g, ' ');
    const header = /^List-Unsubscribe: (.*)$/im.exec(head)?.[1] ?? '';
    const link = /<(https:\/\/[^>]+)>/.exec(header)?.[1];
    expect(link, head).toMatch(new RegExp(`^${url}/unsubscribe/red/`));
    expect(head).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click$/im);
    const answer = await httpsPost(link!, 'List-Unsubscribe=One-Click', cert);
    expect(answer.status, answer.text).toBe(200);
    const members = (
      parseYaml(await readFile(join(dir, 'lists', 'red.yaml'), 'utf8')) as {
        members: string[];
      }
    ).members;
    expect(members).toEqual(['alice@example.com']);
    // It went through the proxy: nginx's access log has the POST.
    expect(await readFile(join(dir, 'nginx-access.log'), 'utf8')).toMatch(/POST \/unsubscribe\//);
  }, 120_000);

  it('signs an owner in by the mailed link and takes a form, with a Secure __Host- cookie', async () => {
    const browser = await launchChromium();
    try {
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      const page = await context.newPage();
      await page.goto(`${url}/login`);
      await page.fill('input[name=address]', 'owner@example.com');
      await page.click('form[action="/login"] button[type=submit]');
      await page.waitForSelector('text=sign-in link is on its way');
      const signIn = () =>
        smtp.accepted.filter(
          (m) =>
            m.to.includes('owner@example.com') &&
            /^Subject: Sign in to/m.test(m.raw.toString('latin1')),
        );
      await smtp.waitFor(() => signIn().length >= 1, 60_000);
      const text = (await simpleParser(signIn()[0]!.raw)).text ?? '';
      const link = /(https:\/\/\S+\/login\/verify\?token=\S+)/.exec(text)?.[1];
      expect(link, text).toMatch(new RegExp(`^${url}/`)); // the public URL, the proxy's
      await page.goto(link!);
      await page.click('form[action="/login/verify"] button[type=submit]');
      await page.waitForURL((u) => !u.pathname.startsWith('/login'));
      const cookies = await context.cookies(url);
      expect(cookies.find((c) => c.name === '__Host-malist_session')).toMatchObject({
        secure: true,
        httpOnly: true,
        sameSite: 'Strict',
      });
      await page.goto(`${url}/lists/red/members`);
      expect(await page.textContent('main')).toContain('alice@example.com');
      await page.fill(
        'form[action="/lists/red/members/add"] input[name=address]',
        'new@example.com',
      );
      await page.click('form[action="/lists/red/members/add"] button[type=submit]');
      await page.waitForSelector('text=new@example.com added.');
      const members = (
        parseYaml(await readFile(join(dir, 'lists', 'red.yaml'), 'utf8')) as {
          members: Array<string | { address: string }>;
        }
      ).members.map((m) => (typeof m === 'string' ? m : m.address));
      expect(members).toContain('new@example.com');
    } finally {
      await browser.close();
    }
  }, 180_000);
});
