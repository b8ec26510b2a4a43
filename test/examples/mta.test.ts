/**
 * The Postfix and cron examples: the files parse with Postfix's own tools (postconf,
 * postalias), and the commands they hold — with the installed paths swapped for this
 * checkout and a temp config — do what the comments promise.
 */
import { execFileSync } from 'node:child_process';
import { copyFile, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MALIST, post, ROOT, runCommand, tempConfig } from '../cli/run-malist.ts';
import { hasCommand } from '../helpers/has-command.ts';

const INSTALLED = '/usr/local/bin/malist';
/** pipe(8)'s macro for the recipient, as master.cf writes it. */
const POSTFIX_RECIPIENT = ['$', '{recipient}'].join('');

/** Splits a command line the way pipe(8)/sh would for these simple, unquoted commands. */
function localise(command: string, configDir: string): string[] {
  return command
    .replace(INSTALLED, `${process.execPath} ${MALIST}`)
    .replace('/etc/malist', configDir)
    .split(/\s+/)
    .filter(Boolean);
}

async function countDelivered(dir: string): Promise<number> {
  let n = 0;
  for (const rcpt of await readdir(join(dir, 'out')).catch(() => []))
    n += (await readdir(join(dir, 'out', rcpt, 'new'))).length;
  return n;
}

describe('examples/postfix', () => {
  it.skipIf(!hasCommand('postconf'))(
    'master.cf: postconf reads the pipe service; its argv with the recipient expanded distributes a post',
    async () => {
      const conf = await mkdtemp(join(tmpdir(), 'malist-postfix-'));
      await writeFile(join(conf, 'main.cf'), '');
      await copyFile(join(ROOT, 'examples/postfix/master.cf'), join(conf, 'master.cf'));
      const entry = execFileSync('postconf', ['-c', conf, '-F', 'malist/unix/command'], {
        encoding: 'utf8',
      });
      const argv = /argv=(.*)$/.exec(entry.trim())![1]!;
      expect(entry).toMatch(/^malist\/unix\/command = pipe flags=\S+ user=malist argv=/);
      const dir = await tempConfig();
      const [cmd, ...args] = localise(argv.replace(POSTFIX_RECIPIENT, 'red@list.example.com'), dir);
      const r = await runCommand(cmd!, args, {
        input: await readFile(post('01-member-post.eml')),
      });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(await countDelivered(dir)).toBe(4);
    },
  );

  it.skipIf(!hasCommand('postalias'))(
    'aliases: postalias reads the pipe aliases; the red alias’s command distributes a post',
    async () => {
      const conf = await mkdtemp(join(tmpdir(), 'malist-postfix-'));
      await writeFile(join(conf, 'main.cf'), '');
      await copyFile(join(ROOT, 'examples/postfix/aliases'), join(conf, 'aliases'));
      execFileSync('postalias', ['-c', conf, `hash:${join(conf, 'aliases')}`]);
      const value = execFileSync(
        'postalias',
        ['-c', conf, '-q', 'red', `hash:${join(conf, 'aliases')}`],
        { encoding: 'utf8' },
      ).trim();
      expect(value).toBe(
        `"|${INSTALLED} receive --config /etc/malist --defer-config-errors --list red"`,
      );
      const dir = await tempConfig();
      const [cmd, ...args] = localise(value.slice(2, -1), dir);
      const r = await runCommand(cmd!, args, {
        input: await readFile(post('03-non-member.eml')),
      });
      expect(r.code).toBe(0); // held for the moderator: handled
      expect(await readdir(join(dir, 'state/held/red'))).toHaveLength(2);
    },
  );
});

describe('examples/crontab', () => {
  it('is a valid 5-field entry whose command runs malist run: an idle run prints nothing (cron mails nothing)', async () => {
    const text = await readFile(join(ROOT, 'examples/crontab'), 'utf8');
    const lines = text.split('\n').filter((l) => l.trim() && !l.startsWith('#'));
    const job = lines.find((l) => !/^[A-Z_]+=/.test(l))!;
    const fields = job.split(/\s+/);
    const field = /^(\*|\d+(-\d+)?)(\/\d+)?(,(\*|\d+(-\d+)?)(\/\d+)?)*$/;
    for (const f of fields.slice(0, 5)) expect(f).toMatch(field);
    const command = fields.slice(5).join(' ');
    expect(command).toBe('malist run --config /etc/malist --quiet');

    const dir = await tempConfig();
    await writeFile(join(dir, 'inbox.keep'), '');
    await writeFile(
      join(dir, 'malist.yaml'),
      'state_dir: state\nfetch:\n  - type: maildir\n    dir: inbox\ndistribute:\n  type: maildir\n  dir: out\n',
    );
    const [, ...args] = command.replace('/etc/malist', dir).split(' ');
    const r = await runCommand(process.execPath, [MALIST, ...args], { cwd: tmpdir() });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
  });
});
