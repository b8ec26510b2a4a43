/** The commands of this part from the command line: members, digest, archive export, serve. */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { DigestStore } from '../../src/digest/store.ts';
import createArchiveDistributor from '../../src/distributors/archive.ts';
import { createListMail } from '../../src/mail/list-mail.ts';
import { unsubscribeToken } from '../../src/state/unsubscribe-token.ts';

async function configDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'malist-cli-'));
  await mkdir(join(dir, 'lists'));
  await writeFile(
    join(dir, 'malist.yaml'),
    'state_dir: var/state\nlists_dir: lists\nfetch:\n  - type: maildir\n    dir: var/inbox\ndistribute:\n  type: maildir\n  dir: var/out\n',
  );
  await writeFile(
    join(dir, 'lists', 'red.yaml'),
    '# Red\naddress: red@list.example\nmembers:\n  - alice@example.com # founder\n',
  );
  return dir;
}

const quiet = async (argv: string[]) => {
  const write = process.stdout.write;
  let out = '';
  process.stdout.write = ((chunk: string) => {
    out += chunk;
    return true;
  }) as typeof process.stdout.write;
  try {
    return { code: await main(argv), out };
  } finally {
    process.stdout.write = write;
  }
};

describe('cli', () => {
  it('members add/set/list/remove edit the list file, comments kept', async () => {
    const dir = await configDir();
    expect(
      (
        await quiet([
          'members',
          'add',
          '--config',
          dir,
          '--list',
          'red',
          'bob@example.org',
          '--digest',
        ])
      ).code,
    ).toBe(0);
    expect(
      (
        await quiet([
          'members',
          'set',
          '--config',
          dir,
          '--list',
          'red',
          'alice@example.com',
          'notmetoo',
          'on',
        ])
      ).code,
    ).toBe(0);
    const listed = await quiet(['members', 'list', '--config', dir, '--list', 'red']);
    expect(listed.out).toBe('alice@example.com\tnotmetoo\nbob@example.org\tdigest\n');
    expect(await readFile(join(dir, 'lists', 'red.yaml'), 'utf8')).toContain('# founder');
    expect(
      (await quiet(['members', 'remove', '--config', dir, '--list', 'red', 'bob@example.org']))
        .code,
    ).toBe(0);
    expect((await quiet(['members', 'list', '--config', dir, '--list', 'red'])).out).toBe(
      'alice@example.com\tnotmetoo\n',
    );
    expect(
      (
        await quiet([
          'members',
          'set',
          '--config',
          dir,
          '--list',
          'red',
          'nobody@example.com',
          'digest',
        ])
      ).code,
    ).toBe(67);
  });

  it('digest --force sends the pending digest to digest members through the configured distributor, once', async () => {
    const dir = await configDir();
    await quiet([
      'members',
      'add',
      '--config',
      dir,
      '--list',
      'red',
      'dora@example.net',
      '--digest',
    ]);
    const store = new DigestStore(join(dir, 'var/state'), 'red');
    await store.add(
      'k1',
      Buffer.from('From: alice@example.com\nSubject: one\nMessage-ID: <1@x>\n\nfirst\n'),
    );
    await store.add(
      'k2',
      Buffer.from('From: alice@example.com\nSubject: two\nMessage-ID: <2@x>\n\nsecond\n'),
    );
    expect((await quiet(['digest', '--config', dir])).out).toBe('no digest due\n');
    const sent = await quiet(['digest', '--config', dir, '--force']);
    expect(sent.out).toBe('red: sent Vol 1, Issue 1 to 1 member(s)\n');
    const box = join(dir, 'var/out/dora@example.net/new');
    const files = await readdir(box);
    expect(files).toHaveLength(1);
    const digest = await simpleParser(await readFile(join(box, files[0]!)));
    expect(digest.subject).toBe('red Digest, Vol 1, Issue 1');
    expect(digest.attachments.filter((a) => a.contentType === 'message/rfc822')).toHaveLength(2);
    expect((await quiet(['digest', '--config', dir, '--force'])).out).toBe('no digest due\n');
  });

  it('archive export writes the months asked for', async () => {
    const dir = await configDir();
    const archiveDir = join(dir, 'var/state/archive');
    const archive = createArchiveDistributor({
      dir: archiveDir,
      now: () => new Date('2026-10-05T00:00:00Z'),
    });
    const post = createListMail(Buffer.from('From: a@example.com\nSubject: October\n\nx\n'), {
      fetcher: 't',
      id: '1',
    });
    post.ml_list_name = 'red';
    await archive.distribute(post);
    const out = join(dir, 'export.mbox');
    expect(
      (
        await quiet([
          'archive',
          'export',
          '--config',
          dir,
          '--list',
          'red',
          '--from',
          '2026-10',
          '--out',
          out,
        ])
      ).code,
    ).toBe(0);
    expect(await readFile(out, 'utf8')).toMatch(
      /^From .*\nFrom: a@example.com\nSubject: October\n/,
    );
    expect((await quiet(['archive', 'export', '--list', 'red', '--from', 'October'])).code).toBe(
      64,
    );
  });

  it('serve answers a one-click POST for a configured list', async () => {
    const dir = await configDir();
    const child = spawn(
      process.execPath,
      [join(import.meta.dirname, '../../bin/malist.js'), 'serve', '--config', dir, '--port', '0'],
      {
        env: { ...process.env, MALIST_SECRET: 'a'.repeat(64) },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('serve did not start')), 15_000);
        child.stdout.on('data', (chunk: Buffer) => {
          const m = /listening on (http:\/\/\S+)/.exec(chunk.toString());
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
      });
      const token = unsubscribeToken(
        Buffer.from('a'.repeat(64), 'hex'),
        'red',
        'alice@example.com',
      );
      const res = await fetch(`${url}/unsubscribe/red/alice%40example.com/${token}`, {
        method: 'POST',
        body: 'List-Unsubscribe=One-Click',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      });
      expect(res.status).toBe(200);
      expect(await readFile(join(dir, 'lists', 'red.yaml'), 'utf8')).not.toContain(
        'alice@example.com',
      );
    } finally {
      child.kill('SIGTERM');
    }
  });
});
