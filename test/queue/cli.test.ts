import { afterEach, describe, expect, it, vi } from 'vitest';
import queueCommand from '../../src/cli/queue.ts';
import { createQueue } from '../../src/queue/queue.ts';
import { createSmtpTransport } from '../../src/smtp/nodemailer.ts';
import { startSmtpServer } from '../helpers/smtp-server.ts';
import { testMessage } from '../smtp/fixtures.ts';
import { writeQueueConfig } from './config-file.ts';
import { tempDir } from './helpers.ts';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function capture(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    err += String(chunk);
    return true;
  });
  try {
    return { code: await queueCommand(argv), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('malist queue', () => {
  it('list shows a readable table; retry delivers; drop keeps a dead letter', async () => {
    const server = await startSmtpServer();
    cleanup.push(() => server.stop());
    const temp = await tempDir();
    cleanup.push(() => temp.remove());
    const { config, spool } = await writeQueueConfig(temp.dir, server.port);
    server.addRule({
      stage: 'rcpt',
      recipient: 'soft@x.test',
      reply: { code: 451, message: 'greylisted' },
    });
    const queue = createQueue(
      { dir: spool },
      {
        transport: createSmtpTransport({ port: server.port, host: '127.0.0.1', starttls: 'never' }),
      },
    );
    await queue.enqueue({
      id: 'entry-one-0001',
      list: 'red',
      raw: testMessage('c1'),
      sender: 'b@l.test',
      recipients: ['a@x.test', 'soft@x.test'],
    });
    await queue.enqueue({
      id: 'entry-two-0002',
      raw: testMessage('c2'),
      sender: 'b@l.test',
      recipients: ['soft@x.test'],
    });
    await queue.close();

    const list = await capture(['list', '--config', config]);
    expect(list.code).toBe(0);
    const lines = list.out.trim().split('\n');
    expect(lines[0]).toMatch(
      /^ENTRY\s+LIST\s+AGE\s+PENDING\s+FAILED\s+NEXT ATTEMPT\s+STATE\s+LAST ERROR$/,
    );
    expect(lines[1]).toMatch(
      /^entry-one-0001\s+red\s+\d+s\s+1\s+0\s+in (1m|\d+s)\s+waiting\s+451 greylisted/,
    );
    expect(lines[2]).toMatch(/^entry-two-0002\s+-\s+/);

    server.clearRules();
    const retry = await capture(['retry', 'entry-one', '--config', config]);
    expect(retry.out).toMatch(/entries 1 .*delivered 1/);
    expect(server.count('soft@x.test', 'c1@example.com')).toBe(1);

    expect((await capture(['drop', 'entry-two', '--config', config])).out).toMatch(/dead letter/);
    const json = await capture(['list', '--json', '--config', config]);
    const { entries } = JSON.parse(json.out);
    expect(entries.map((e: { id: string; state: string }) => [e.id, e.state])).toEqual([
      ['entry-two-0002', 'dead'],
    ]);
    expect(entries[0]).toMatchObject({
      pending: null,
      failed: 1,
      recipients: [{ address: 'soft@x.test', state: 'failed' }],
    });
    expect((await capture(['drop', 'nope', '--config', config])).code).toBe(64);
    expect((await capture(['frobnicate'])).code).toBe(64);
  });

  it('a configuration without a queue is a configuration error', async () => {
    const temp = await tempDir();
    cleanup.push(() => temp.remove());
    const result = await capture(['list', '--config', temp.dir]);
    expect(result.code).toBe(78);
    expect(result.err).toMatch(/no malist.yaml/);
  });
});
