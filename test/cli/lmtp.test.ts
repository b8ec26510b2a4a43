/**
 * `malist lmtp` spoken to directly with nodemailer's LMTP client: one reply per recipient
 * (RFC 2033), mapped from receive's outcomes — 250 handled, 550 5.1.1 unknown list (already
 * at RCPT TO), 451 4.3.0 while the state directory is unusable (and the retry delivers once),
 * 552 over --max-size; the configuration reloaded when a list file changes; SIGTERM exits 0.
 */
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lmtpDialog, type RunningLmtp, sendLmtp, startLmtpCli } from './lmtp-intake.ts';
import { malist, post, tempConfig } from './run-malist.ts';

async function delivered(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const rcpt of await readdir(join(dir, 'out')).catch(() => [])) {
    for (const f of await readdir(join(dir, 'out', rcpt, 'new'))) out.push(`${rcpt}/new/${f}`);
  }
  return out.sort();
}

/** One LMTP transaction spoken by hand over a unix socket; the server's lines, in order. */
async function lmtpOverSocket(path: string, rcpt: string[], raw: string): Promise<string[]> {
  const dialog = await lmtpDialog({ path });
  await dialog.command('LHLO test.example');
  await dialog.command('MAIL FROM:<alice@example.org>');
  for (const r of rcpt) await dialog.command(`RCPT TO:<${r}>`);
  await dialog.command('DATA');
  const accepted = dialog.lines.slice(3, 3 + rcpt.length).filter((l) => l.startsWith('250'));
  await dialog.command(`${raw.replace(/\r?\n/g, '\r\n')}.`, accepted.length);
  dialog.end();
  return dialog.lines;
}

const running: RunningLmtp[] = [];
afterAll(async () => {
  for (const r of running) await r.stop();
});

async function start(args: string[]): Promise<RunningLmtp> {
  const server = await startLmtpCli(args);
  running.push(server);
  return server;
}

// Seven servers start at once (from the sources under tsx when dist/ is stale): a loaded
// machine takes over a minute for that, so a hung test is bounded at 5 minutes.
describe.concurrent('malist lmtp', { timeout: 300_000 }, () => {
  it('answers per recipient: two lists 250, an unknown address 550 5.1.1 at RCPT TO', async () => {
    const dir = await tempConfig();
    const server = await start(['--config', dir]);
    const raw = await readFile(post('01-member-post.eml'));
    const r = await sendLmtp(
      server.port,
      'alice@example.org',
      ['red@list.example.com', 'nobody@list.example.com', 'dev@list.example.com'],
      raw,
    );
    expect(r.accepted).toEqual(['red@list.example.com', 'dev@list.example.com']);
    expect(r.refused['nobody@list.example.com']).toMatch(
      /^550 5\.1\.1 no list has the address nobody@list\.example\.com/,
    );
    const files = await delivered(dir);
    // red: its three members and the archive; dev: its own members, each once.
    expect(files.filter((f) => f.includes('.red.')).map((f) => f.split('/')[0])).toEqual([
      'alice@example.org',
      'archive@list.example.com',
      'bob@example.net',
      'carol@example.org',
    ]);
    expect(files.filter((f) => f.includes('.dev.')).length).toBeGreaterThan(0);
    const log = await readFile(join(dir, 'delivery.log'), 'utf8');
    expect(log).toMatch(/list=red outcome=distributed recipients=4/);
    // The same bytes again (the MTA retrying after a lost reply): handled, nothing twice.
    const again = await sendLmtp(server.port, 'alice@example.org', ['red@list.example.com'], raw);
    expect(again.accepted).toEqual(['red@list.example.com']);
    expect(await delivered(dir)).toEqual(files);
  });

  it('routes like receive --recipient: a -request address is a command, not a post', async () => {
    const dir = await tempConfig();
    const server = await start(['--config', dir]);
    const viaLmtp = await sendLmtp(
      server.port,
      'dave@example.com',
      ['red-request@list.example.com'],
      'From: dave@example.com\nTo: red-request@list.example.com\nSubject: subscribe\nMessage-ID: <sub-1@example.com>\n\nsubscribe\n',
    );
    expect(viaLmtp.accepted).toEqual(['red-request@list.example.com']);
    // A confirmation goes to dave; no member gets anything.
    expect((await delivered(dir)).map((f) => f.split('/')[0])).toEqual(['dave@example.com']);
  });

  it('answers 451 4.3.0 while the state directory is unusable (also as root), and the retry delivers once', async () => {
    const dir = await tempConfig(
      'state_dir: state\ndistribute:\n  type: maildir\n  dir: out\nreactors: [stderr-logger]\n',
    );
    // A file where the state directory should be: no one, root included, can write in it.
    await writeFile(join(dir, 'state'), 'not a directory\n');
    const server = await start(['--config', dir]);
    const raw = await readFile(post('01-member-post.eml'));
    const to = ['red@list.example.com', 'dev@list.example.com'];
    const first = await sendLmtp(server.port, 'alice@example.org', to, raw);
    expect(first.accepted).toEqual([]);
    expect(Object.keys(first.refused).sort()).toEqual(to.sort());
    for (const reply of Object.values(first.refused)) expect(reply).toMatch(/^451 4\.3\.0 /);
    expect(await delivered(dir)).toEqual([]);
    // The operator fixes it; the MTA retries the same mail.
    await rm(join(dir, 'state'));
    await mkdir(join(dir, 'state'));
    const retry = await sendLmtp(server.port, 'alice@example.org', to, raw);
    expect(retry.accepted).toEqual(to);
    expect((await delivered(dir)).filter((f) => f.includes('.red.'))).toHaveLength(4);
  });

  it('refuses a mail over --max-size with 552 for every recipient', async () => {
    const dir = await tempConfig();
    const server = await start(['--config', dir, '--max-size', '2000']);
    const raw =
      `${(await readFile(post('01-member-post.eml'), 'utf8')).trimEnd()}\n${'x'.repeat(80)}\n`.repeat(
        40,
      );
    const r = await sendLmtp(server.port, 'alice@example.org', ['red@list.example.com'], raw);
    expect(r.accepted).toEqual([]);
    expect(r.refused['red@list.example.com']).toMatch(/^552 5\.3\.4 /);
    expect(await delivered(dir)).toEqual([]);
  });

  it('reloads when a list file changes: a new list is served without a restart', async () => {
    const dir = await tempConfig();
    const server = await start(['--config', dir]);
    const raw =
      'From: alice@example.org\nTo: green@list.example.com\nSubject: hi\nMessage-ID: <green-1@example.org>\n\nhello\n';
    const before = await sendLmtp(
      server.port,
      'alice@example.org',
      ['green@list.example.com'],
      raw,
    );
    expect(before.refused['green@list.example.com']).toMatch(/^550 5\.1\.1 /);
    await writeFile(
      join(dir, 'lists', 'green.yaml'),
      'address: green@list.example.com\nposting: open\nmembers: [erin@example.net]\n',
    );
    // The watcher marks the configuration stale; poll until the new list answers.
    let after = before;
    for (let i = 0; i < 100 && after.accepted.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      after = await sendLmtp(server.port, 'alice@example.org', ['green@list.example.com'], raw);
    }
    expect(after.accepted).toEqual(['green@list.example.com']);
    expect((await delivered(dir)).map((f) => f.split('/')[0])).toContain('erin@example.net');
    // A list file that no longer loads: the previous configuration keeps running, and says so.
    await writeFile(join(dir, 'lists', 'green.yaml'), 'address: [oops\n');
    let kept = false;
    for (let i = 0; i < 100 && !kept; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const r = await sendLmtp(server.port, 'alice@example.org', ['green@list.example.com'], raw);
      expect(r.accepted).toEqual(['green@list.example.com']);
      kept = server.stderr().includes('still running the previous one');
    }
    expect(server.stderr()).toMatch(/green\.yaml:\d+:\d+/);
  });

  it('listens on a unix socket (mode 660): one reply per accepted recipient after the data', async () => {
    const dir = await tempConfig();
    const path = join(dir, 'lmtp.sock');
    const server = await startLmtpCli(['--config', dir], {}, `unix:${path}`);
    running.push(server);
    expect((await stat(path)).mode & 0o777).toBe(0o660);
    const raw = await readFile(post('01-member-post.eml'), 'utf8');
    const lines = await lmtpOverSocket(
      path,
      ['red@list.example.com', 'nobody@list.example.com', 'dev@list.example.com'],
      raw,
    );
    expect(lines[0]).toMatch(/^220 .*LMTP/);
    expect(lines[4]).toMatch(/^550 5\.1\.1 /);
    // RFC 2033: after the data, one reply per accepted recipient, in order.
    expect(lines.slice(-2)).toEqual([
      expect.stringMatching(/^250 2\.6\.0 handled/),
      expect.stringMatching(/^250 2\.6\.0 handled/),
    ]);
    expect((await delivered(dir)).filter((f) => f.includes('.red.'))).toHaveLength(4);
  });

  it('stops on SIGTERM with exit 0; a configuration error at start exits 78; --help names the options', async () => {
    const dir = await tempConfig();
    const server = await startLmtpCli(['--config', dir]);
    const code = await server.stop();
    expect(code, server.stderr()).toBe(0);
    expect(server.stderr()).toContain('stopping after the mail in hand');
    await writeFile(join(dir, 'lists', 'bad.yaml'), 'address: [oops\n');
    const bad = await malist(['lmtp', '--config', dir, '--listen', '127.0.0.1:0']);
    expect(bad.code).toBe(78);
    expect(bad.stderr).toMatch(/bad\.yaml:\d+:\d+/);
    const help = await malist(['lmtp', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--listen HOST:PORT|unix:PATH');
    const usage = await malist(['lmtp', '--listen', 'nowhere']);
    expect(usage.code).toBe(64);
  });
});
