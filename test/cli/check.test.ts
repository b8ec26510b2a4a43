/** `malist check`: lists with members count and pipeline; exit 78 with file:line:col on problems. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { malist, tempConfig } from './run-malist.ts';

describe('malist check', () => {
  it('prints every list with its members count and pipeline, exit 0', async () => {
    const dir = await tempConfig();
    const r = await malist(['check', '--config', dir]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'red: red@list.example.com "Red mail list", 3 members (inline), posting members, deliver_to archive@list.example.com',
    );
    expect(r.stdout).toMatch(
      /announce: announce@list\.example\.com .*4 members \(.*announce\.members\)/,
    );
    expect(r.stdout).toContain(
      '  pipeline: sanity → loop-guard → automated → posting-policy → subject-prefix → envelope',
    );
    expect(r.stdout).toContain('ok: 3 lists, no problems');
  });

  it('says when a list asks for personal content that only the queue makes, and there is no queue', async () => {
    const dir = await tempConfig();
    await writeFile(
      join(dir, 'lists/blue.yaml'),
      'address: blue@list.example.com\nmembers: [a@example.org]\nunsubscribe_url: https://lists.example.com/u/{list}/{member}/{token}\n',
    );
    await writeFile(
      join(dir, 'lists/green.yaml'),
      'address: green@list.example.com\nmembers: [a@example.org]\nunit_options:\n  footer: { text: "You are {member}" }\n',
    );
    const r = await malist(['check', '--config', dir]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const notes = r.stdout.split('\n').filter((l) => l.startsWith('  note:'));
    expect(notes).toEqual([
      expect.stringMatching(
        /unsubscribe_url is personal, which only the queue.*mailto: address only/,
      ),
      expect.stringMatching(/footer names the member, which only the queue.*without it/),
    ]);
    expect(r.stdout).not.toMatch(/red:.*\n.*\n\s+note:/);
  });

  it('suggests a members file for a list of 1,000 members or more written inline', async () => {
    const dir = await tempConfig();
    const members = Array.from({ length: 1000 }, (_, i) => `  - m${i}@example.org\n`).join('');
    await writeFile(
      join(dir, 'lists/big.yaml'),
      `address: big@list.example.com\nmembers:\n${members}`,
    );
    const r = await malist(['check', '--config', dir]);
    expect(r.code).toBe(0);
    const notes = r.stdout.split('\n').filter((l) => l.startsWith('  note:'));
    expect(notes).toEqual([
      "  note: 1000 members are written in the list's file, which the first mail after each edit parses and every mail reads (10,000: ~50 ms of CPU a mail more than a members file, ~0.4 s for that first mail); a members file is read line by line: malist members export big --format text > lists/big.members, then members_file: big.members in place of members:",
    ]);
  });

  it('exits 78 listing every problem as file:line:col key: expected (fix)', async () => {
    const dir = await tempConfig();
    await writeFile(
      join(dir, 'lists/red.yaml'),
      'address: red@list.example.com\nname: Red\nposting: member\n',
    );
    await writeFile(join(dir, 'lists/blue.yaml'), 'address: dev@list.example.com\n');
    const r = await malist(['check'], { cwd: dir });
    expect(r.code).toBe(78);
    expect(r.stderr.split('\n')).toEqual([
      'lists/dev.yaml:3:10 address: duplicate list address dev@list.example.com: lists/blue.yaml:1 already uses it (fix: give every list its own address, or remove one of the two files)',
      "lists/red.yaml:2:1 name: unknown key (fix: use display_name: for the list's display name; its short name is the file name)",
      "lists/red.yaml:3:10 posting: expected one of open | members | moderated | announce, got 'member' (fix: did you mean 'members'?)",
      'malist check: 3 problems',
      '',
    ]);
  });
});
