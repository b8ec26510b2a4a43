/**
 * `malist run` with the durable queue over SMTP: a recipient deferred with 4xx is owned by
 * the queue, and the next cron run retries only that recipient — everyone gets the post
 * exactly once. `malist receive` exits 75 when the spool cannot be written, and the same
 * mail given again once it can is delivered.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-server.ts';
import { malist, post, tempConfig } from './run-malist.ts';

const MEMBERS = [
  'alice@example.org',
  'bob@example.net',
  'carol@example.org',
  'archive@list.example.com',
];

describe('malist run / receive with the queue distributor', () => {
  let server: TestSmtpServer;
  beforeAll(async () => {
    server = await startSmtpServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  const config = (spool: string) =>
    `state_dir: state\nfetch:\n  - type: maildir\n    dir: inbox\ndistribute:\n  type: queue\n  server: out\nservers:\n  out:\n    host: 127.0.0.1\n    port: ${server.port}\n    starttls: never\nqueue:\n  dir: ${spool}\n  retry: { initial_seconds: 0.001 }\ndelivery_log: delivery.log\n`;

  it('a 4xx recipient is queued, and the next run delivers to that recipient only', async () => {
    const dir = await tempConfig(config('spool'));
    await mkdir(join(dir, 'inbox/new'), { recursive: true });
    await writeFile(join(dir, 'inbox/new/1.post'), await readFile(post('01-member-post.eml')));
    server.addRule({
      stage: 'rcpt',
      recipient: 'bob@example.net',
      reply: { code: 451, message: 'greylisted' },
      times: 1,
    });

    const first = await malist(['run', '--config', dir]);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(
      'red (red@list.example.com): 1 post — 3 delivered, 1 queued (451 greylisted)',
    );
    const id = '20261123091244.4711@mail.example.org';
    expect(MEMBERS.map((m) => server.count(m, id))).toEqual([1, 0, 1, 1]);

    await new Promise((resolve) => setTimeout(resolve, 50));
    // Mail may also arrive only by `malist receive`: a run without fetch: still retries the queue.
    await writeFile(
      join(dir, 'malist.yaml'),
      config('spool').replace('fetch:\n  - type: maildir\n    dir: inbox\n', ''),
    );
    const second = await malist(['run', '--config', dir]);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('queue: 1 delivered, 0 deferred, 0 refused (1 entry retried)');
    expect(second.stdout).toContain(
      'red (red@list.example.com): 1 recipient retried — 1 delivered',
    );
    expect(MEMBERS.map((m) => server.count(m, id))).toEqual([1, 1, 1, 1]);
    expect(server.duplicates()).toEqual([]);
  });

  it('receive exits 75 when the queue spool cannot be written; the retry delivers once', async () => {
    const dir = await tempConfig(config('blocked/spool'));
    await writeFile(join(dir, 'blocked'), 'a regular file: ENOTDIR below it, for root too\n');
    const input = await readFile(post('02-reply.eml'));
    const id = 'CAB7x9e1q-reply-0001@mail.example.net';
    const failed = await malist(['receive', '--config', dir, '--list', 'red'], { input });
    expect(failed.code).toBe(75);
    expect(failed.stderr).toContain('could not spool the post');
    expect(MEMBERS.map((m) => server.count(m, id))).toEqual([0, 0, 0, 0]);

    await writeFile(join(dir, 'malist.yaml'), config('spool'));
    const retried = await malist(['receive', '--config', dir, '--list', 'red'], { input });
    expect(retried.code).toBe(0);
    expect(MEMBERS.map((m) => server.count(m, id))).toEqual([1, 1, 1, 1]);
  });
});
