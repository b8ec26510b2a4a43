/**
 * `malist run` prunes what requests leave behind (expired tokens, used tokens past their
 * expiry, request memos older than 30 days) and keeps what is alive; logs are created 0640
 * and confirmation tokens 0600 (they are capabilities).
 */
import { mkdir, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TokenStore } from '../../src/state/tokens.ts';
import { malist, tempConfig } from '../cli/run-malist.ts';

const DAY = 24 * 3600 * 1000;

describe('state housekeeping and file modes', () => {
  it('malist run prunes expired tokens and old memos, keeps live ones; logs are 0640', async () => {
    const dir = await tempConfig(
      [
        'state_dir: state',
        'fetch:',
        '  - type: maildir',
        '    dir: inbox',
        'distribute:',
        '  type: maildir',
        '  dir: out',
        'delivery_log: delivery.log',
        'reactors:',
        '  - type: json-log',
        '    file: events.jsonl',
        '',
      ].join('\n'),
    );
    for (const sub of ['new', 'cur', 'tmp'])
      await mkdir(join(dir, 'inbox', sub), { recursive: true });
    await writeFile(
      join(dir, 'inbox/new/1.eml'),
      'From: alice@example.org\r\nTo: red@list.example.com\r\nSubject: hi\r\nMessage-ID: <hk@example.org>\r\n\r\nHi.\r\n',
    );
    // A non-member's post is held: a signal the json-log writes.
    await writeFile(
      join(dir, 'inbox/new/2.eml'),
      'From: zed@example.net\r\nTo: red@list.example.com\r\nSubject: hold me\r\nMessage-ID: <hk2@example.net>\r\n\r\nHi.\r\n',
    );
    const tokens = join(dir, 'state/tokens');
    await mkdir(join(tokens, 'used'), { recursive: true });
    const now = Date.now();
    const token = (expires: number) =>
      JSON.stringify({ kind: 'subscribe', list: 'red', data: {}, expires, created: now - DAY });
    await writeFile(join(tokens, 'old.json'), token(now - 1000));
    await writeFile(join(tokens, 'live.json'), token(now + DAY));
    await writeFile(join(tokens, 'used/old-used.json'), token(now - 1000));
    await writeFile(join(tokens, 'used/live-used.json'), token(now + DAY));
    const memos = join(dir, 'state/requests/red');
    await mkdir(memos, { recursive: true });
    await writeFile(join(memos, 'old.json'), '{"replies":[],"consume":[]}');
    await writeFile(join(memos, 'fresh.json'), '{"replies":[],"consume":[]}');
    const longAgo = new Date(now - 31 * DAY);
    await utimes(join(memos, 'old.json'), longAgo, longAgo);

    const ran = await malist(['run', '--config', dir]);
    expect(ran.code, ran.stderr).toBe(0);
    const left = await readdir(tokens);
    expect(left).toContain('live.json');
    expect(left).not.toContain('old.json');
    expect(await readdir(join(tokens, 'used'))).toEqual(['live-used.json']);
    expect(await readdir(memos)).toEqual(['fresh.json']);
    for (const log of ['delivery.log', 'events.jsonl'])
      expect(((await stat(join(dir, log))).mode & 0o777).toString(8), log).toBe('640');
  }, 120_000);

  it('a confirmation token file is readable by its owner only', async () => {
    const dir = await tempConfig();
    const store = new TokenStore(join(dir, 'state/tokens'), Buffer.alloc(32, 1));
    const token = await store.create('subscribe', 'red', { address: 'a@example.org' }, DAY);
    const file = join(dir, 'state/tokens', `${token.slice(0, 32)}.json`);
    expect(((await stat(file)).mode & 0o777).toString(8)).toBe('600');
  });
});
