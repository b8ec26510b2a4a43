/**
 * Only a crash of a unit quarantines; a storage error is temporary. Through the command
 * line: a custom unit that crashes puts the post in the quarantine (receive exits 0: the
 * mail is kept), `malist quarantine list|show|release|drop` manage it, and release — once
 * the cause is gone — sends it once, past the journal. An EACCES while writing the member
 * file makes `receive` exit 75 with a clear message, quarantines nothing, and the same mail
 * handed over again once the disk is writable does what it asked.
 */
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempConfig } from '../cli/run-malist.ts';
import { malist } from '../helpers/crash-config.ts';
import { inbox, mail, NO_ENVELOPE } from './cli-mail.ts';

/** A unit that crashes while the file `boom` is in the configuration directory. */
const BOOM_UNIT = `import { existsSync } from 'node:fs';
import { join } from 'node:path';
export default function createBoom() {
  return {
    name: 'boom',
    async process(mail) {
      if (existsSync(join(${JSON.stringify('DIR')}, 'boom'))) throw new Error('boom: a bug in a custom unit');
      return mail;
    },
  };
}
`;

describe('quarantine and storage errors through the command line', () => {
  it('a crashing unit quarantines; list, show, release (once the cause is fixed), drop', async () => {
    const dir = await tempConfig();
    await writeFile(join(dir, 'lists/boom.mjs'), BOOM_UNIT.replace('"DIR"', JSON.stringify(dir)));
    const red = await readFile(join(dir, 'lists/red.yaml'), 'utf8');
    await writeFile(
      join(dir, 'lists/red.yaml'),
      `${red}pipeline:\n  - sanity\n  - posting-policy\n  - ./boom.mjs\n  - envelope\n`,
    );
    await writeFile(join(dir, 'boom'), '');
    const post = (id: string) =>
      mail({
        From: 'alice@example.org',
        To: 'red@list.example.com',
        Subject: `post ${id}`,
        'Message-ID': `<${id}@example.org>`,
      });
    for (const id of ['q1', 'q2']) {
      const ran = await malist(['receive', '--config', dir, '--list', 'red'], {
        input: post(id),
        env: NO_ENVELOPE,
      });
      expect(ran.code, ran.stderr).toBe(0);
      expect(ran.stderr).toMatch(/quarantin/i);
    }
    const listed = await malist(['quarantine', 'list', '--config', dir]);
    expect(listed.code, listed.stderr).toBe(0);
    const ids = [...listed.stdout.matchAll(/^([0-9a-f]{16})\s/gm)].map((m) => m[1]!);
    expect(ids, listed.stdout).toHaveLength(2);
    expect(listed.stdout).toMatch(/boom: list red: boom: a bug/);
    const shown = await malist(['quarantine', 'show', ids[0]!, '--config', dir]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/Message-ID: <q[12]@example\.org>/);

    // The cause fixed: release runs the mail again, past the journal, and sends it once.
    await rm(join(dir, 'boom'));
    const which = /Message-ID: <(q[12])@/.exec(shown.stdout)![1]!;
    const released = await malist(['quarantine', 'release', ids[0]!, '--config', dir]);
    expect(released.code, released.stdout + released.stderr).toBe(0);
    const got = (await inbox(dir, 'bob@example.net')).filter((m) => m.includes(`<${which}@`));
    expect(got).toHaveLength(1);
    const again = await malist(['quarantine', 'release', ids[0]!, '--config', dir]);
    expect(again.code).not.toBe(0); // gone from the quarantine
    expect(
      (await inbox(dir, 'bob@example.net')).filter((m) => m.includes(`<${which}@`)),
    ).toHaveLength(1);

    const dropped = await malist(['quarantine', 'drop', ids[1]!, '--config', dir]);
    expect(dropped.code, dropped.stderr).toBe(0);
    const after = await malist(['quarantine', 'list', '--config', dir]);
    expect(after.stdout).not.toMatch(/^[0-9a-f]{16}\s/m);
  }, 180_000);

  it('EACCES on the lists directory: exit 75, nothing quarantined, the retry succeeds', async () => {
    const dir = await tempConfig();
    const red = await readFile(join(dir, 'lists/red.yaml'), 'utf8');
    await writeFile(join(dir, 'lists/red.yaml'), `${red}subscribe_policy: open\n`);
    const request = mail({
      From: 'dave@example.com',
      To: 'red-request@list.example.com',
      Subject: 'subscribe',
      'Message-ID': '<sub-eacces@example.com>',
    });
    const failed = await malist(['receive', '--config', dir], {
      input: request,
      env: NO_ENVELOPE,
      fsFault: `EACCES:${join(dir, 'lists')}`,
    });
    expect(failed.code, failed.stderr).toBe(75);
    expect(failed.stderr).toMatch(/EACCES/);
    expect(await readdir(join(dir, 'state/quarantine')).catch(() => [])).toEqual([]);
    expect(await readFile(join(dir, 'lists/red.yaml'), 'utf8')).not.toContain('dave@example.com');
    // The MTA hands the same mail over again once the disk is writable.
    const retried = await malist(['receive', '--config', dir], {
      input: request,
      env: NO_ENVELOPE,
    });
    expect(retried.code, retried.stderr).toBe(0);
    expect(await readFile(join(dir, 'lists/red.yaml'), 'utf8')).toContain('dave@example.com');
  }, 120_000);
});
