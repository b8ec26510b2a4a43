/** `malist send-test`: a test message through the configured distributor; what the server said. */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-server.ts';
import { malist, tempConfig } from './run-malist.ts';

describe('malist send-test', () => {
  let server: TestSmtpServer;
  beforeAll(async () => {
    server = await startSmtpServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('reports the SMTP server’s answer per recipient; a 5xx is exit 1', async () => {
    const dir = await tempConfig(
      `state_dir: state\ndistribute:\n  type: smtp\n  host: 127.0.0.1\n  port: ${server.port}\n  starttls: never\n`,
    );
    const ok = await malist([
      'send-test',
      '--config',
      dir,
      '--list',
      'red',
      '--to',
      'tester@example.com',
    ]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^tester@example\.com: delivered via smtp — server said: 250\b.*\n$/);
    expect(server.accepted).toHaveLength(1);
    expect(server.accepted[0]!.from).toBe('red-bounces@list.example.com');
    expect(server.accepted[0]!.raw.toString()).toContain('Subject: malist send-test for red');

    server.addRule({
      stage: 'rcpt',
      recipient: 'nobody@example.com',
      reply: { code: 550, message: 'No such user' },
    });
    const refused = await malist([
      'send-test',
      '--config',
      dir,
      '--list',
      'red',
      '--to',
      'nobody@example.com',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(
      /nobody@example\.com: failed via smtp — server said: 550 .*No such user/,
    );
  });

  it('works with a local maildir distributor too, and knows unknown lists (67)', async () => {
    const dir = await tempConfig();
    const r = await malist([
      'send-test',
      '--config',
      dir,
      '--list',
      'announce',
      '--to',
      'ops@example.com',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('ops@example.com: delivered via maildir\n');
    expect(await readdir(join(dir, 'out/ops@example.com/new'))).toHaveLength(1);
    const unknown = await malist([
      'send-test',
      '--config',
      dir,
      '--list',
      'green',
      '--to',
      'ops@example.com',
    ]);
    expect(unknown.code).toBe(67);
  });
});
