/**
 * History from a real mlmmj (Debian's 1.3: a list made by mlmmj-make-ml, posts archived by
 * mlmmj-receive itself) imported with `malist archive import`, then `reindex` and `search`
 * on the command line, and a configuration whose archive distributor sends List-Archive and
 * Archived-At and files every post where `malist archive search` finds it.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { malist, tempConfig } from '../cli/run-malist.ts';

const FIXTURES = new URL('../fixtures/archive/', import.meta.url).pathname;
const MLMMJ = '/usr/bin/mlmmj-receive';
const haveMlmmj = existsSync(MLMMJ) && existsSync('/usr/bin/mlmmj-make-ml');
if (!haveMlmmj) {
  if (process.env.CI === 'true') throw new Error('mlmmj is not installed (apt-get install mlmmj)');
  process.stderr.write('\n!!! mlmmj not installed: the mlmmj import test is skipped !!!\n');
}

function run(command: string, args: string[], input: Buffer | string): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('close', resolve);
    child.stdin.end(input);
  });
}

/** A list made by mlmmj-make-ml (subject prefix, any To/Cc) that has archived `posts`. */
async function mlmmjList(posts: Buffer[]): Promise<string> {
  const spool = await mkdtemp(join(tmpdir(), 'malist-mlmmj-'));
  const made = await run(
    '/usr/bin/mlmmj-make-ml',
    ['-L', 'intl', '-s', spool],
    'list.example.test\nowner@example.test\nen\n',
  );
  expect(made).toBe(0);
  const dir = join(spool, 'intl');
  await writeFile(join(dir, 'control', 'prefix'), '[intl]\n');
  // The posts are addressed to intl@list.example.com, not this list's address.
  await writeFile(join(dir, 'control', 'tocc'), '');
  for (const post of posts)
    expect(await run(MLMMJ, ['-F', '-L', dir, '-s', 'poster@example.org'], post)).toBe(0);
  return dir;
}

describe.runIf(haveMlmmj)('an mlmmj archive', () => {
  it('imports every post mlmmj archived, threads and all, and a second import adds nothing', async () => {
    const names = [
      '02-root.eml',
      '03-reply-french.eml',
      '04-reply-german.eml',
      '05-reply-danish.eml',
    ];
    const posts = await Promise.all(names.map((n) => readFile(join(FIXTURES, 'intl', n))));
    const list = await mlmmjList(posts);
    expect((await readdir(join(list, 'archive'))).sort()).toEqual(['1', '2', '3', '4']);
    const dir = await mkdtemp(join(tmpdir(), 'malist-archive-cli-'));
    const first = await malist(['archive', 'import', '--dir', dir, '--list', 'intl', list]);
    expect(first.stderr).toBe('');
    expect(first.stdout).toBe(
      `intl: 4 posts imported from ${list} (mlmmj), 0 already archived, 4 read\n`,
    );
    const again = await malist(['archive', 'import', '--dir', dir, '--list', 'intl', list]);
    expect(again.stdout).toContain('intl: 0 posts imported');
    expect(again.stdout).toContain('4 already archived');
    const found = await malist(['archive', 'search', '--dir', dir, '--json', 'schrieb']);
    const hits = found.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(hits.map((h) => [h.messageId, h.threadId, h.subject])).toEqual([
      ['de-2022@example.de', 'root-2022@example.com', '[intl] AW: Hello this is a test'],
    ]);
    const reindexed = await malist(['archive', 'reindex', '--dir', dir]);
    expect(reindexed.stdout).toBe('intl: 4 posts indexed (4 read from the files)\n');
    const text = await malist(['archive', 'search', '--dir', dir, '--list', 'intl', 'écrit']);
    expect(text.stdout).toContain('Renée Dupré');
    expect(text.stdout).toContain('[écrit]');
    expect(text.stdout).toMatch(/1 found\n$/);
  });
});

describe('malist archive on the command line', () => {
  it('says what is wrong with its arguments', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'malist-archive-cli-'));
    const missing = await malist([
      'archive',
      'import',
      '--dir',
      dir,
      '--list',
      'x',
      join(dir, 'nope'),
    ]);
    expect(missing.code).toBe(66);
    expect(missing.stderr).toContain('no such file or directory');
    const bad = await malist(['archive', 'search', '--dir', dir, '--after', 'May', 'x']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('--after must be YYYY-MM-DD or YYYY-MM');
  });

  it('a configured archive sends List-Archive and Archived-At, and indexes every post it files', async () => {
    const config = await tempConfig(
      [
        'state_dir: state',
        'distribute:',
        '  - { type: maildir, dir: out }',
        '  - { type: archive, dir: archive }',
        'defaults: { archive: { web: public, url: "https://lists.example.com" } }',
        'reactors: [stderr-logger]',
        '',
      ].join('\n'),
    );
    await mkdir(join(config, 'inbox', 'new'), { recursive: true });
    await mkdir(join(config, 'inbox', 'cur'), { recursive: true });
    const post = (await readFile(join(FIXTURES, 'intl', '03-reply-french.eml'), 'utf8'))
      .replace(
        'From: =?utf-8?q?Ren=C3=A9e_Dupr=C3=A9?= <renee@example.fr>',
        'From: alice@example.org',
      )
      .replace('To: intl@list.example.com', 'To: red@list.example.com');
    const received = await malist(['receive', '--config', config, '--list', 'red'], {
      input: post,
    });
    expect(received.stderr).toBe('');
    expect(received.code).toBe(0);
    const [box] = await readdir(join(config, 'out'));
    const [file] = await readdir(join(config, 'out', box!, 'new'));
    const sent = await readFile(join(config, 'out', box!, 'new', file!), 'utf8');
    expect(sent).toContain('List-Archive: <https://lists.example.com/archive/red/>');
    expect(sent).toContain(
      'Archived-At: <https://lists.example.com/archive/red/m/fr-2022@example.fr>',
    );
    const found = await malist(['archive', 'search', '--config', config, 'a écrit']);
    expect(found.stdout).toContain('<fr-2022@example.fr>');
    expect(found.stdout).toMatch(/1 found\n$/);
  });
});
