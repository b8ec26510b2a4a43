/**
 * SIGTERM while `malist lmtp` has a mail in hand (its data taken, the list's pipeline still
 * working on it: a custom unit that waits at a gate file). The mail is either handled (250
 * given once it is distributed) or refused with a 4xx (421: the MTA keeps it and retries,
 * and the retry is not sent twice) — never acknowledged and dropped, never left without an
 * answer; no new mail is taken once stopping; the process exits 0 after the mail in hand.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type LmtpDialog, lmtpDialog, type RunningLmtp, startLmtpCli } from './lmtp-intake.ts';
import { tempConfig } from './run-malist.ts';

const running: RunningLmtp[] = [];
afterAll(async () => {
  for (const r of running) await r.stop();
});

/**
 * A config with a list `slow` whose pipeline waits at a gate: the unit writes `entered` when
 * a mail reaches it and goes on once `open` exists (plain JavaScript, beside the lists).
 */
async function gatedConfig(): Promise<string> {
  const dir = await tempConfig();
  await writeFile(
    join(dir, 'lists/slow.yaml'),
    'address: slow@list.example.com\nposting: open\nmembers: [amy@example.org, ben@example.net]\n' +
      'pipeline:\n  - sanity\n  - type: ./gate.mjs\n    entered_file: ../entered\n    open_file: ../open\n  - envelope\n',
  );
  await writeFile(
    join(dir, 'lists/gate.mjs'),
    `import { existsSync, writeFileSync } from 'node:fs';
export default (_list, o) => ({
  name: 'gate',
  async process(mail) {
    writeFileSync(o.entered_file, 'in hand\\n');
    while (!existsSync(o.open_file)) await new Promise((resolve) => setTimeout(resolve, 20));
    return mail;
  },
});
`,
  );
  return dir;
}

const post = (id: string) =>
  `From: pat@example.org\r\nTo: slow@list.example.com\r\nSubject: in hand\r\nMessage-ID: <${id}>\r\n\r\nhello\r\n.`;

/** Copies of `id` the members got, per member. */
async function copies(dir: string, id: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const member of ['amy@example.org', 'ben@example.net']) {
    counts[member] = 0;
    const box = join(dir, 'out', member, 'new');
    for (const file of await readdir(box).catch(() => [] as string[]))
      if ((await readFile(join(box, file), 'utf8')).includes(`<${id}>`)) counts[member] += 1;
  }
  return counts;
}

async function poll(what: string, check: () => boolean | Promise<boolean>, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** LHLO, MAIL, RCPT and DATA on a new connection; the data's reply is left pending. */
async function startTransaction(port: number, id: string) {
  const dialog = await lmtpDialog({ port });
  expect(await dialog.command('LHLO mta.example')).toEqual([expect.stringMatching(/^250 /)]);
  expect(await dialog.command('MAIL FROM:<pat@example.org>')).toEqual([
    expect.stringMatching(/^250 /),
  ]);
  expect(await dialog.command('RCPT TO:<slow@list.example.com>')).toEqual([
    expect.stringMatching(/^250 /),
  ]);
  expect(await dialog.command('DATA')).toEqual([expect.stringMatching(/^354 /)]);
  // The end of the data: its one reply (one recipient) comes once the mail is handled.
  const reply = dialog.command(post(id));
  return { dialog, reply };
}

async function start(dir: string): Promise<RunningLmtp> {
  const server = await startLmtpCli(['--config', dir]);
  running.push(server);
  return server;
}

describe('malist lmtp: SIGTERM with a mail in hand', { timeout: 180_000 }, () => {
  it('the mail in hand is finished and answered 250; nothing new is taken; exit 0', async () => {
    const dir = await gatedConfig();
    const server = await start(dir);
    // A second connection the MTA keeps open (Postfix caches LMTP connections).
    const idle: LmtpDialog = await lmtpDialog({ port: server.port });
    await idle.command('LHLO mta.example');
    const { dialog, reply } = await startTransaction(server.port, 'in-hand-1@example.org');
    await poll('the mail at the gate', () => existsSync(join(dir, 'entered')));

    server.child.kill('SIGTERM');
    await poll('"stopping"', () => server.stderr().includes('stopping after the mail in hand'));
    // Stopping: a new transaction on the open connection is deferred with 421, not taken.
    expect(await idle.command('MAIL FROM:<pat@example.org>')).toEqual([
      expect.stringMatching(/^421 /),
    ]);
    idle.end();
    // …and no new connection is accepted.
    const refused = await lmtpDialog({ port: server.port }).then(
      (d) => {
        d.end();
        return d.lines;
      },
      (error: NodeJS.ErrnoException) => error.code,
    );
    expect(refused).toBe('ECONNREFUSED');

    await writeFile(join(dir, 'open'), '');
    expect(await reply).toEqual([expect.stringMatching(/^250 2\.6\.0 /)]);
    // 250 means handled: every member has the post.
    expect(await copies(dir, 'in-hand-1@example.org')).toEqual({
      'amy@example.org': 1,
      'ben@example.net': 1,
    });
    dialog.end();
    expect(await server.exit, server.stderr()).toBe(0);
  });

  it('SIGTERM while the data is still arriving: the rest is taken, the mail handled and answered 250', async () => {
    const dir = await gatedConfig();
    await writeFile(join(dir, 'open'), '');
    const server = await start(dir);
    const id = 'half-data@example.org';
    const dialog = await lmtpDialog({ port: server.port });
    await dialog.command('LHLO mta.example');
    await dialog.command('MAIL FROM:<pat@example.org>');
    await dialog.command('RCPT TO:<slow@list.example.com>');
    expect(await dialog.command('DATA')).toEqual([expect.stringMatching(/^354 /)]);
    const [head, tail] = post(id).split('\r\n\r\n') as [string, string];
    await dialog.command(`${head}\r\n`, 0);
    server.child.kill('SIGTERM');
    await poll('"stopping"', () => server.stderr().includes('stopping after the mail in hand'));
    expect(await dialog.command(tail)).toEqual([expect.stringMatching(/^250 2\.6\.0 /)]);
    expect(await copies(dir, id)).toEqual({ 'amy@example.org': 1, 'ben@example.net': 1 });
    dialog.end();
    expect(await server.exit, server.stderr()).toBe(0);
  });

  it('a mail still in hand when the close timeout ends: 421 to the MTA, finished anyway; the retry is not sent twice', async () => {
    const dir = await gatedConfig();
    const server = await start(dir);
    const id = 'in-hand-2@example.org';
    const { dialog, reply } = await startTransaction(server.port, id);
    await poll('the mail at the gate', () => existsSync(join(dir, 'entered')));
    server.child.kill('SIGTERM');
    // After the close timeout (10 s) the MTA is told to try again later, never left waiting.
    expect(await reply).toEqual([expect.stringMatching(/^421 /)]);
    await poll('the connection closed', () => dialog.closed());
    // The mail in hand is finished before the process exits: nothing half-done is left.
    await writeFile(join(dir, 'open'), '');
    expect(await server.exit, server.stderr()).toBe(0);
    const first = await copies(dir, id);

    // The MTA retries the deferred mail at the next start: handled, each member once.
    const again = await start(dir);
    const retry = await startTransaction(again.port, id);
    expect(await retry.reply).toEqual([expect.stringMatching(/^250 2\.6\.0 /)]);
    retry.dialog.end();
    expect(await copies(dir, id)).toEqual({ 'amy@example.org': 1, 'ben@example.net': 1 });
    expect(first).toEqual({ 'amy@example.org': 1, 'ben@example.net': 1 });
  });

  it('a second SIGTERM ends it at once (exit 75) without an answer: the MTA keeps the mail; the retry delivers once', async () => {
    const dir = await gatedConfig();
    const server = await start(dir);
    const id = 'in-hand-3@example.org';
    const { dialog, reply } = await startTransaction(server.port, id);
    await poll('the mail at the gate', () => existsSync(join(dir, 'entered')));
    server.child.kill('SIGTERM');
    await poll('"stopping"', () => server.stderr().includes('stopping after the mail in hand'));
    server.child.kill('SIGTERM');
    // No 250 was ever given: the connection just ends, which the MTA takes as "try again".
    expect(await reply).toEqual([]);
    expect(dialog.closed()).toBe(true);
    expect(await server.exit).toBe(75);
    expect(await copies(dir, id)).toEqual({ 'amy@example.org': 0, 'ben@example.net': 0 });

    await writeFile(join(dir, 'open'), '');
    const again = await start(dir);
    const retry = await startTransaction(again.port, id);
    expect(await retry.reply).toEqual([expect.stringMatching(/^250 2\.6\.0 /)]);
    retry.dialog.end();
    expect(await copies(dir, id)).toEqual({ 'amy@example.org': 1, 'ben@example.net': 1 });
  });
});
