/**
 * `malist serve` as two processes on two hosts, one PostgreSQL database (each host its own
 * configuration and state directory, the one `MALIST_SECRET` every host needs): a post
 * `malist receive` holds on host A is listed and approved through host B's REST API and
 * released once — counted at the SMTP server; a second decision, on A, finds it decided. The
 * web's credentials are rows in the database too: ONE API token, made with `malist web token
 * create` on A's configuration, is accepted by both, and once revoked on B is refused by A;
 * an admin password set on A signs in on B's login form. A member's one-click unsubscribe
 * link (RFC 8058), made by host A in the copy A sent them, works when POSTed to host B: the
 * member is gone on both hosts.
 * HTTP only (fetch).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MALIST, malist } from '../cli/run-malist.ts';
import { type Postgres, postgresAvailable, startPostgres } from '../helpers/postgres.ts';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-server.ts';
import { until } from '../helpers/until.ts';
import { strangerPost } from '../web/harness.ts';

const available = postgresAvailable();
const MEMBERS = ['alice@example.com', 'bob@example.org', 'carol@example.net'];
const SECRET = 'a3'.repeat(32);

interface Served {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

describe.skipIf(!available)('malist serve as processes on two hosts, one database', () => {
  let pg: Postgres;
  let smtp: TestSmtpServer;
  let env: NodeJS.ProcessEnv;
  const served: Served[] = [];
  beforeAll(async () => {
    [pg, smtp] = await Promise.all([startPostgres(), startSmtpServer()]);
    env = { DATABASE_URL: await pg.createDatabase('serve_children'), MALIST_SECRET: SECRET };
  }, 120_000);
  afterAll(async () => {
    for (const s of served) if (s.child.exitCode === null) s.child.kill('SIGKILL');
    await Promise.all(served.map((s) => s.exited));
    await smtp?.stop();
    await pg?.stop();
  });

  /** One host's configuration: the same malist.yaml and red.yaml as every other host's. */
  const host = async (root: string, name: string): Promise<string> => {
    const dir = join(root, name);
    await mkdir(join(dir, 'lists'), { recursive: true });
    await writeFile(
      join(dir, 'malist.yaml'),
      [
        'state_dir: state',
        'storage: { type: postgres, url_env: DATABASE_URL }',
        `servers:\n  out: { host: 127.0.0.1, port: ${smtp.port}, starttls: never }`,
        'distribute: { type: queue, server: out }',
        'delivery_log: delivery.log',
        '',
      ].join('\n'),
    );
    await writeFile(
      join(dir, 'lists/red.yaml'),
      [
        'address: red@list.example.com',
        "subject_prefix: '[Red] '",
        'posting: members',
        'non_member_action: hold',
        'moderators: [mod@example.com]',
        'owners: [owner@example.com]',
        'member_store: postgres',
        "unsubscribe_url: 'https://lists.example.com/unsubscribe/{list}/{member}/{token}'",
        '',
      ].join('\n'),
    );
    return dir;
  };

  /** `malist serve --listen 127.0.0.1:0` on `dir`; its URL from the line it prints. */
  const serve = async (dir: string): Promise<Served> => {
    const child = spawn(
      process.execPath,
      [MALIST, 'serve', '--config', dir, '--listen', '127.0.0.1:0'],
      { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => resolve(code)),
    );
    const running: Served = { child, url: '', output: () => output, exited };
    served.push(running);
    await until(`malist serve on ${dir} to listen (output: ${output})`, () => {
      if (child.exitCode !== null) throw new Error(`malist serve exited: ${output}`);
      return /listening on (http:\/\/\S+)/.test(output);
    });
    running.url = /listening on (http:\/\/\S+)/.exec(output)![1]!;
    return running;
  };

  it('a post held on A is approved through B and released once; one token and one password work on both; A’s unsubscribe link works on B', async () => {
    const root = await mkdtemp(join(tmpdir(), 'malist-serve-children-'));
    const [dirA, dirB] = await Promise.all([host(root, 'a'), host(root, 'b')]);
    const cli = (args: string[], input?: string) =>
      malist(args, { env, ...(input === undefined ? {} : { input }) });
    const added = await cli(['members', 'add', 'red', ...MEMBERS, '--config', dirA]);
    expect(added.code, added.stderr).toBe(0);
    const [a, b] = await Promise.all([serve(dirA), serve(dirB)]);

    // Held on A (a stranger's post), listed and approved on B.
    const held = await cli(
      ['receive', '--config', dirA, '--list', 'red'],
      strangerPost('Held on A'),
    );
    expect(held.code, held.stderr).toBe(0);
    // One API token, made on A: the web's credentials are rows every host reads.
    const made = await cli([
      'web',
      'token',
      'create',
      '--config',
      dirA,
      '--scope',
      'list:red',
      '--name',
      'ci',
    ]);
    expect(made.code, made.stderr).toBe(0);
    const token = /malist_\S+/.exec(made.stdout)?.[0];
    expect(token).toBeDefined();
    const api = async (site: Served, method: string, path: string, body?: unknown) => {
      const res = await fetch(`${site.url}/api/v1${path}`, {
        method,
        headers: {
          Authorization: `Bearer ${token}`,
          ...(body ? { 'Content-Type': 'application/json' } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };
    const listed = await api(b, 'GET', '/lists/red/held');
    expect(listed.status).toBe(200);
    const items = listed.json.held as { id: string; subject: string }[];
    expect(items.map((h) => h.subject)).toEqual(['Held on A']);
    const decided = await api(b, 'POST', '/lists/red/held/decisions', {
      ids: [items[0]!.id],
      action: 'approve',
    });
    expect(decided.status).toBe(200);
    expect((decided.json.results as { status: string }[])[0]!.status).toBe('done');
    // The same token on A, which finds the post decided.
    const again = await api(a, 'POST', '/lists/red/held/decisions', {
      ids: [items[0]!.id],
      action: 'approve',
    });
    expect((again.json.results as { status: string }[])[0]!.status).toBe('already');
    const released = (to: string) =>
      smtp.accepted.filter(
        (m) => m.to.includes(to) && m.raw.toString('latin1').includes('[Red] Held on A'),
      ).length;
    await until('the approved post at every member', () => MEMBERS.every((m) => released(m) >= 1));

    // A member's post, sent by host A's queue: each copy carries its member's own link.
    const own = await cli(
      ['receive', '--config', dirA, '--list', 'red'],
      [
        'From: Alice <alice@example.com>',
        'To: red@list.example.com',
        'Subject: from alice',
        'Message-ID: <from-alice@example.com>',
        'Date: Sat, 05 Dec 2026 05:00:00 +0000',
        '',
        'Hello.',
        '',
      ].join('\r\n'),
    );
    expect(own.code, own.stderr).toBe(0);
    const bobsCopy = () =>
      smtp.accepted.find(
        (m) => m.to.includes('bob@example.org') && m.messageId === 'from-alice@example.com',
      );
    await until("bob's copy of alice's post", () => bobsCopy() !== undefined);
    const head = bobsCopy()!
      .raw.toString('latin1')
      .split('\r\n\r\n')[0]!
      .replace(/\r\n[ \t]+/g, ' ');
    expect(head).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click$/m);
    const header = /^List-Unsubscribe: (.*)$/m.exec(head)?.[1] ?? '';
    const link = /<(https:\/\/lists\.example\.com\/unsubscribe\/[^>]+)>/.exec(header)?.[1];
    expect(link, header).toBeDefined();
    // POSTed to host B, as a mail client does (RFC 8058).
    const res = await fetch(link!.replace('https://lists.example.com', b.url), {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
      redirect: 'manual',
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('is no longer subscribed');
    // Gone on both hosts: the members are rows in the one database.
    for (const dir of [dirA, dirB]) {
      const list = await cli(['members', 'list', 'red', '--config', dir]);
      expect(list.stdout.trim().split('\n').sort()).toEqual([
        'alice@example.com',
        'carol@example.net',
      ]);
    }

    // Each member got the approved post once, and nothing was sent twice.
    for (const m of MEMBERS) expect(released(m), m).toBe(1);
    expect(smtp.duplicates()).toEqual([]);

    // Revoked on B: refused by A at its next request.
    const listedIds = await cli(['web', 'token', 'list', '--config', dirB]);
    const id = /^(tok_[0-9a-f]+)\tlist:red\tci\t/m.exec(listedIds.stdout)?.[1];
    expect(id, listedIds.stdout).toBeDefined();
    const revoked = await cli(['web', 'token', 'revoke', '--config', dirB, id!]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect((await api(a, 'GET', '/lists/red/held')).status).toBe(401);
    expect((await api(b, 'GET', '/lists/red/held')).status).toBe(401);

    // An admin password set on A signs in on B (the login form).
    const passwd = await cli(['web', 'passwd', '--config', dirA], 'correct horse battery\n');
    expect(passwd.code, passwd.stderr).toBe(0);
    const login = async (site: Served, password: string) => {
      const first = await fetch(`${site.url}/admin/login`);
      const cookie = (first.headers.get('set-cookie') ?? '').split(';')[0]!;
      const csrf = /name="_csrf" value="([^"]+)"/.exec(await first.text())![1]!;
      return fetch(`${site.url}/admin/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          cookie,
          origin: site.url,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ _csrf: csrf, user: 'admin', password }).toString(),
      });
    };
    expect((await login(b, 'wrong horse battery')).status).toBe(403);
    const signedIn = await login(b, 'correct horse battery');
    expect(signedIn.status).toBe(303);
    const session = (signedIn.headers.get('set-cookie') ?? '').split(';')[0]!;
    const home = await fetch(`${b.url}/`, { headers: { cookie: session } });
    expect(await home.text()).toContain('/lists/red');

    for (const s of [a, b]) {
      s.child.kill('SIGTERM');
      expect(await s.exited, s.output()).toBe(0);
    }
  }, 300_000);
});
