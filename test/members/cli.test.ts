/**
 * `malist members` through the real command line: several addresses and names at once,
 * arguments checked, files (lines, CSV, stdin), sync with its diff and dry run, export
 * read back, bounce standing shown, and imports from mlmmj (a list made by the real
 * mlmmj-make-ml and mlmmj-sub), a Mailman 3 export and an mbox archive.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { malist, ROOT, tempConfig } from '../cli/run-malist.ts';

const FIXTURES = join(ROOT, 'test/fixtures');
const haveMlmmj = existsSync('/usr/bin/mlmmj-make-ml') && existsSync('/usr/bin/mlmmj-sub');
if (!haveMlmmj) {
  if (process.env.CI === 'true') throw new Error('mlmmj is not installed (apt-get install mlmmj)');
  process.stderr.write('\n!!! mlmmj not installed: the mlmmj members import test is skipped !!!\n');
}

async function members(dir: string, args: string[], input?: string) {
  return malist(['members', ...args, '--config', dir], { cwd: dir, ...(input ? { input } : {}) });
}

const listYaml = (dir: string) => readFile(join(dir, 'lists', 'red.yaml'), 'utf8');

describe('malist members', () => {
  it('adds several members at once, names kept; refuses extra arguments and options that are not on/off', async () => {
    const dir = await tempConfig();
    const before = await listYaml(dir);
    const added = await members(dir, [
      'add',
      'red',
      'dave@example.org',
      'Eve Example <eve@example.org>',
      'alice@example.org',
    ]);
    expect(added.stderr).toBe('');
    expect(added.stdout).toBe(
      'added: dave@example.org\nadded: Eve Example <eve@example.org>\nalready a member: alice@example.org\n',
    );
    expect(added.code).toBe(0);
    // The file changed by exactly the two new member lines.
    expect(await listYaml(dir)).toBe(
      before.replace(
        '  - carol@example.org\n# Every',
        '  - carol@example.org\n  - dave@example.org\n  - Eve Example <eve@example.org>\n# Every',
      ),
    );
    const listed = await members(dir, ['list', 'red']);
    expect(listed.stdout).toBe(
      'alice@example.org\nBob Martin <bob@example.net>\ncarol@example.org\ndave@example.org\nEve Example <eve@example.org>\n',
    );
    const json = JSON.parse((await members(dir, ['list', 'red', '--json'])).stdout);
    expect(json[1]).toEqual({ address: 'bob@example.net', name: 'Bob Martin' });

    const bad = await members(dir, ['add', 'red', 'frank@example.org', 'not an address']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('nothing was changed');
    const extra = await members(dir, ['list', 'red', 'surplus']);
    expect([extra.code, extra.stderr]).toEqual([
      64,
      'malist members list: unexpected argument "surplus"\n',
    ]);
    const maybe = await members(dir, ['set', 'red', 'dave@example.org', 'nomail', 'maybe']);
    expect([maybe.code, maybe.stderr]).toEqual([
      64,
      "malist members set: expected on or off, got 'maybe'\n",
    ]);
    const tooMany = await members(dir, ['set', 'red', 'dave@example.org', 'nomail', 'on', 'now']);
    expect(tooMany.code).toBe(64);
    expect((await members(dir, ['set', 'red', 'dave@example.org', 'nomail', 'off'])).code).toBe(0);
    expect(await listYaml(dir)).not.toContain('frank');
    expect(await listYaml(dir)).not.toContain('nomail');
    const removed = await members(dir, [
      'remove',
      'red',
      'dave@example.org',
      'eve@example.org',
      'zed@example.org',
    ]);
    expect(removed.stdout).toBe(
      'removed: dave@example.org\nremoved: eve@example.org\nnot a member: zed@example.org\n',
    );
    expect(await listYaml(dir)).toBe(before);
  }, 600_000);

  it('sync makes the list equal the file, prints the diff, and a dry run or a bad line changes nothing', async () => {
    const dir = await tempConfig();
    const before = await listYaml(dir);
    const csv = join(dir, 'roster.csv');
    await writeFile(
      csv,
      'email,name,digest\nalice@example.org,Alice Liddell,yes\nBOB@example.net,,no\nnew@example.org,New Person,\n',
    );
    const dry = await members(dir, ['sync', 'red', '--file', csv, '--dry-run']);
    expect(dry.stdout).toBe(
      [
        '+ New Person <new@example.org>',
        '- carol@example.org',
        '~ alice@example.org: name "" -> "Alice Liddell", digest on',
        '~ bob@example.net: name "Bob Martin" -> ""',
        'dry run: 1 would add, 1 would remove, 2 would change, 0 unchanged',
        '',
      ].join('\n'),
    );
    expect(await listYaml(dir)).toBe(before);

    await writeFile(join(dir, 'broken.txt'), 'alice@example.org\nbob at example.net\n');
    const broken = await members(dir, ['sync', 'red', '--file', join(dir, 'broken.txt')]);
    expect(broken.code).toBe(65);
    expect(broken.stderr).toContain(`${join(dir, 'broken.txt')}:2: not a mail address`);
    expect(await listYaml(dir)).toBe(before);

    // Lines from stdin: a plain address line states no name or options, so Bob keeps his name.
    const lines = 'alice@example.org digest\nbob@example.net # keeps his name\nnew@example.org\n';
    const done = await members(dir, ['sync', 'red', '--file', '-'], lines);
    expect(done.stdout).toBe(
      '+ new@example.org\n- carol@example.org\n~ alice@example.org: digest on\n1 added, 1 removed, 1 changed, 1 unchanged\n',
    );
    expect(await listYaml(dir)).toContain(
      'members:\n  - address: alice@example.org\n    digest: true\n  - Bob Martin <bob@example.net>\n  - new@example.org\n# Every post',
    );
    // Nothing left beside the file: the write was a rename of a complete temp file.
    expect(await readdir(join(dir, 'lists'))).toEqual(
      expect.not.arrayContaining([expect.stringMatching(/tmp|lock/)]),
    );
    // Export and sync it back: nothing to change.
    for (const format of ['text', 'csv']) {
      const exported = await members(dir, ['export', 'red', '--format', format]);
      const again = await members(dir, ['sync', 'red', '--file', '-', '--json'], exported.stdout);
      expect(JSON.parse(again.stdout)).toMatchObject({
        add: [],
        remove: [],
        change: [],
        unchanged: 3,
      });
    }
  }, 600_000);

  it('a members_file keeps display names: sync, list, export and check read `Name <addr>` lines', async () => {
    const dir = await tempConfig();
    const file = join(dir, 'lists', 'announce.members');
    await writeFile(
      join(dir, 'roster.csv'),
      'email,name,digest\nalice@example.org,Alice Liddell,no\nbob@example.net,,yes\nerin@example.com,Erin E,no\nGrace Hopper <grace@example.com>,,no\n',
    );
    const sync = await members(dir, ['sync', 'announce', '--file', 'roster.csv']);
    expect(sync.stderr).toBe('');
    expect(sync.code).toBe(0);
    expect(sync.stdout).toContain('1 added, 1 removed, 3 changed, 0 unchanged');
    expect(await readFile(file, 'utf8')).toBe(
      '# Subscribers of announce@list.example.com — one address a line.\nAlice Liddell <alice@example.org>\nbob@example.net digest\nErin E <erin@example.com>\nGrace Hopper <grace@example.com>\n',
    );
    const listed = await members(dir, ['list', 'announce']);
    expect(listed.stdout).toBe(
      'Alice Liddell <alice@example.org>\nbob@example.net\tdigest\nErin E <erin@example.com>\nGrace Hopper <grace@example.com>\n',
    );
    const exported = await members(dir, ['export', 'announce']);
    // What export writes, sync reads back: no change.
    await writeFile(join(dir, 'again.txt'), exported.stdout);
    const again = await members(dir, ['sync', 'announce', '--file', 'again.txt', '--dry-run']);
    expect(again.stdout).toContain('0 would add, 0 would remove, 0 would change, 4 unchanged');
    const check = await malist(['check', '--config', dir]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout + check.stderr).not.toMatch(/announce\.members:\d+/);
  });

  it('shows the bounce score, last bounce and nomail reason from the bounce state', async () => {
    const dir = await tempConfig();
    await members(
      dir,
      ['sync', 'red', '--file', '-'],
      'alice@example.org nomail=bounce\nbob@example.net\ncarol@example.org\n',
    );
    const now = Date.now();
    await mkdir(join(dir, 'state', 'bounces'), { recursive: true });
    await writeFile(
      join(dir, 'state', 'bounces', 'red.json'),
      JSON.stringify({
        'alice@example.org': {
          score: 5,
          updated: now,
          day: new Date(now).toISOString().slice(0, 10),
          day_added: 1,
          count: 5,
          seen: [],
          last_diagnostic: '550 5.1.1 <alice@example.org>: mailbox unknown',
          last_bounce: now,
          disabled_at: now,
        },
      }),
    );
    const day = new Date(now).toISOString().slice(0, 10);
    const listed = await members(dir, ['list', 'red']);
    expect(listed.stdout.split('\n')[0]).toBe(
      `alice@example.org\tnomail (bounce)\tbounces=5 last=${day} reason="550 5.1.1 <alice@example.org>: mailbox unknown" disabled=${day}`,
    );
    const shown = await members(dir, ['show', 'red', 'ALICE@example.org']);
    expect(shown.stdout).toContain('options: nomail=bounce\n');
    expect(shown.stdout).toContain(`nomail: set by bounces on ${new Date(now).toISOString()}\n`);
    expect(shown.stdout).toContain('bounce score: 5 (5 bounces counted)\n');
    expect(shown.stdout).toContain(`last bounce: ${new Date(now).toISOString()} 550 5.1.1`);
    const json = JSON.parse(
      (await members(dir, ['show', 'red', 'alice@example.org', '--json'])).stdout,
    );
    expect(json.bounces).toMatchObject({
      score: 5,
      count: 5,
      reason: expect.stringContaining('5.1.1'),
    });
    expect((await members(dir, ['show', 'red', 'nobody@example.org'])).code).toBe(67);
  }, 600_000);

  it.runIf(haveMlmmj)(
    'imports a real mlmmj list: subscribers, digesters and nomail subscribers',
    async () => {
      const spool = await mkdtemp(join(tmpdir(), 'malist-mlmmj-members-'));
      const made = spawnSync('/usr/bin/mlmmj-make-ml', ['-L', 'old', '-s', spool], {
        input: 'list.example.test\nowner@example.test\nen\n',
      });
      expect(made.status).toBe(0);
      const list = join(spool, 'old');
      const sub = (...args: string[]) =>
        expect(
          spawnSync('/usr/bin/mlmmj-sub', ['-L', list, '-f', '-q', '-s', '-U', ...args]).status,
        ).toBe(0);
      sub('-a', 'alice@example.org');
      sub('-a', 'Zoe@Example.COM');
      sub('-a', 'dig@example.org', '-d');
      sub('-a', 'quiet@example.org', '-n');
      const dir = await tempConfig();
      const dry = await members(dir, ['import', 'red', '--from', 'mlmmj', list, '--dry-run']);
      expect(dry.stdout).toBe(
        [
          'mlmmj list old@list.example.test: 2 in subscribers.d, 1 in digesters.d, 1 in nomailsubs.d',
          '+ zoe@example.com',
          '+ dig@example.org digest',
          '+ quiet@example.org nomail=user',
          'dry run: 3 would add, 0 would remove, 0 would change, 1 unchanged',
          '',
        ].join('\n'),
      );
      const done = await members(dir, ['import', 'red', '--from', 'mlmmj', list]);
      expect(done.code).toBe(0);
      expect((await members(dir, ['list', 'red'])).stdout).toContain(
        'zoe@example.com\ndig@example.org\tdigest\nquiet@example.org\tnomail (user)\n',
      );
      const notMlmmj = await members(dir, ['import', 'red', '--from', 'mlmmj', dir]);
      expect(notMlmmj.stderr).toContain('is not an mlmmj list directory');
    },
    180_000,
  );

  it('imports a Mailman 3 export (options mapped, bad rows reported by line) and an mbox (dry run unless --apply)', async () => {
    const dir = await tempConfig();
    const mm = join(FIXTURES, 'members/mailman3-members.csv');
    const got = await members(dir, ['import', 'red', '--from', 'mailman3', mm]);
    expect(got.stderr).toBe(`${mm}:6: not a mail address: "not-an-address" it has no @\n`);
    expect(got.code).toBe(65);
    expect(got.stdout).toBe(
      [
        `Mailman 3 export ${mm}: 3 members, 1 owner/moderator/non-member rows left out`,
        '+ Anne Person <anne@example.com>',
        '+ Bart Person <bart@example.com> digest',
        '+ cris@example.com digest plain nomail=bounce moderate',
        '3 added, 0 removed, 0 changed, 0 unchanged',
        '',
      ].join('\n'),
    );
    const postorius = await members(dir, [
      'import',
      'red',
      '--from',
      'mailman3',
      join(FIXTURES, 'members/postorius-subscribers.csv'),
    ]);
    expect(postorius.stdout).toContain('0 added, 0 removed, 0 changed, 2 unchanged');

    const mbox = join(FIXTURES, 'archive/magick-2000-02.mbox');
    const before = await listYaml(dir);
    const dry = await members(dir, ['import', 'red', '--from', 'mbox', mbox]);
    expect(dry.stdout).toContain(`mbox ${mbox}: 5 messages, 5 senders\n`);
    expect(dry.stdout).toContain('+ "Lincoln, D. E. (Daniel)" <dlincol1@ford.com>\n');
    expect(dry.stdout).toContain('dry run: 5 would add');
    expect(dry.stdout).toContain('an mbox import is a dry run unless --apply');
    expect(await listYaml(dir)).toBe(before);
    const applied = await members(dir, ['import', 'red', '--from', 'mbox', mbox, '--apply']);
    expect(applied.stdout).toContain('5 added');
    expect((await members(dir, ['list', 'red'])).stdout).toContain(
      'William Park <parkw@better.net>',
    );
  }, 600_000);
});
