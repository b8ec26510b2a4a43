import { Readable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import sendmailCommand, { parseSendmailArgs, readMessage } from '../../src/cli/sendmail.ts';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-server.ts';
import { tempDir } from './helpers.ts';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function setup(): Promise<{ server: TestSmtpServer; spool: string }> {
  const server = await startSmtpServer();
  cleanup.push(() => server.stop());
  const temp = await tempDir();
  cleanup.push(() => temp.remove());
  return { server, spool: temp.dir };
}

const cronMail =
  'From: cron@host.test\nTo: admin@x.test\nBcc: audit@x.test\nSubject: backup done\n\nall good\n.\nnot part of it\n';

describe('malist sendmail', () => {
  it('parses sendmail options', () => {
    expect(
      parseSendmailArgs(['-t', '-oi', '-fbounce@x.test', '-F', 'Cron Daemon', '-odi', 'a@x.test']),
    ).toMatchObject({
      fromHeaders: true,
      ignoreDots: true,
      sender: 'bounce@x.test',
      fullName: 'Cron Daemon',
      recipients: ['a@x.test'],
    });
    expect(parseSendmailArgs(['-f', '<>', '--', '-odd@x.test']).recipients).toEqual([
      '-odd@x.test',
    ]);
    expect(() => parseSendmailArgs(['-bp'])).toThrow(/not supported/);
  });

  it('a single dot ends the message unless -i', async () => {
    expect((await readMessage(Readable.from([Buffer.from(cronMail)]), false)).toString()).toMatch(
      /all good\n$/,
    );
    expect((await readMessage(Readable.from([Buffer.from(cronMail)]), true)).toString()).toMatch(
      /not part of it\n$/,
    );
  });

  it('-t: delivers to To and Bcc through the queue, Bcc stripped from the sent header', async () => {
    const { server, spool } = await setup();
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const code = await sendmailCommand(
      ['-t', '-f', 'bounce@host.test', '--spool', spool, '--smtp', `127.0.0.1:${server.port}`],
      Readable.from([Buffer.from(cronMail)]),
    );
    expect(code).toBe(0);
    expect(server.accepted).toHaveLength(1);
    const [sent] = server.accepted;
    expect(sent?.from).toBe('bounce@host.test');
    expect(sent?.to.sort()).toEqual(['admin@x.test', 'audit@x.test']);
    expect(sent?.raw.toString()).not.toMatch(/Bcc|audit/);
    expect(sent?.raw.toString()).toMatch(/^Message-ID: </m);
  });

  it('server down: exit 0 with the message safe in the spool; queue run delivers it later', async () => {
    const { server, spool } = await setup();
    await server.stop();
    const code = await sendmailCommand(
      ['-i', '--spool', spool, '--smtp', `127.0.0.1:${server.port}`, 'admin@x.test'],
      Readable.from([Buffer.from('Subject: hi\n\nbody\n')]),
    );
    expect(code).toBe(0);
    await server.start();
    const { default: queueCommand } = await import('../../src/cli/queue.ts');
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    expect(
      await queueCommand(['retry', '--spool', spool, '--smtp', `127.0.0.1:${server.port}`]),
    ).toBe(0);
    expect(server.count('admin@x.test')).toBe(1);
  });

  it('no recipients: exit 65', async () => {
    const { spool } = await setup();
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const code = await sendmailCommand(
      ['--spool', spool],
      Readable.from([Buffer.from('Subject: x\n\nb\n')]),
    );
    expect(code).toBe(65);
  });
});
