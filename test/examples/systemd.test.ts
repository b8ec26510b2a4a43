/**
 * examples/systemd: each unit passes `systemd-analyze verify` (with this checkout's malist
 * in place of /usr/local/bin/malist), is hardened (ProtectSystem=strict, write access only
 * to the folders examples/malist.yaml writes, a low `systemd-analyze security` exposure), and
 * runs a malist command with options that command accepts; sysusers.d and tmpfiles.d make
 * the user and the folders the units may write.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { commands } from '../../src/cli/main.ts';
import { MALIST, malist, ROOT, runCommand } from '../cli/run-malist.ts';
import { hasCommand } from '../helpers/has-command.ts';

const DIR = join(ROOT, 'examples/systemd');
const INSTALLED = '/usr/local/bin/malist';
/** What marks a unit for a command that does not exist yet. */
const TEMPLATE = 'TEMPLATE, NOT YET USABLE';

const systemd = hasCommand('systemd-analyze');
if (!systemd && process.env.CI === 'true') throw new Error('systemd-analyze is not installed');
if (!systemd) process.stderr.write('\n!!! systemd-analyze not installed: units not verified !!!\n');

/** Every value of `key` in a unit file (a key may repeat). */
function values(unit: string, key: string): string[] {
  return [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!.trim());
}

/**
 * The folders examples/malist.yaml has malist write: state, queue, logs, and the lists
 * (membership changes rewrite them), installed as /etc/malist/malist.yaml.
 */
async function writtenFolders(): Promise<string[]> {
  const main = parse(await readFile(join(ROOT, 'examples/malist.yaml'), 'utf8'));
  const logs = [main.delivery_log, ...main.reactors.map((r: { file?: string }) => r.file)];
  const lists = resolve('/etc/malist', main.lists_dir);
  return [main.state_dir, main.queue.dir, ...logs.filter(Boolean).map(dirname), lists];
}

const units = (await readdir(DIR)).filter((f) => f.endsWith('.service')).sort();

describe('examples/systemd units', () => {
  it('are there: watch, serve and the LMTP intake', () => {
    expect(units).toEqual(['malist-lmtp.service', 'malist-serve.service', 'malist-watch.service']);
  });

  describe.each(units)('%s', (name) => {
    it.skipIf(!systemd)('passes systemd-analyze verify without a warning', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'malist-systemd-'));
      const unit = await readFile(join(DIR, name), 'utf8');
      await writeFile(join(dir, name), unit.replace(INSTALLED, `${process.execPath} ${MALIST}`));
      const r = await runCommand('systemd-analyze', ['verify', '--man=no', join(dir, name)]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    });

    it('is hardened: the file system read-only but for what malist.yaml has it write', async () => {
      const unit = await readFile(join(DIR, name), 'utf8');
      expect(values(unit, 'ProtectSystem')).toEqual(['strict']);
      expect(values(unit, 'NoNewPrivileges')).toEqual(['yes']);
      expect(values(unit, 'User')).toEqual(['malist']);
      const writable = values(unit, 'ReadWritePaths').flatMap((v) => v.split(/\s+/));
      for (const folder of await writtenFolders()) expect(writable, folder).toContain(folder);
    });

    it.skipIf(!systemd)('has a low exposure by systemd-analyze security', async () => {
      const r = await runCommand('systemd-analyze', ['security', '--offline=yes', join(DIR, name)]);
      const level = /Overall exposure level for \S+: ([\d.]+)/.exec(r.stdout);
      expect(level, r.stdout + r.stderr).not.toBeNull();
      expect(Number(level![1])).toBeLessThan(2);
    });

    it('runs a malist command with options it accepts (or is marked as a template)', async () => {
      const unit = await readFile(join(DIR, name), 'utf8');
      const [exec] = values(unit, 'ExecStart');
      const [binary, command, ...options] = exec!.split(/\s+/);
      expect(binary).toBe(INSTALLED);
      if (!(command! in commands)) {
        // `malist lmtp` is being built elsewhere: its unit says so until it exists.
        expect(unit).toContain(TEMPLATE);
        expect((await malist([command!, '--help'])).code).toBe(64);
        return;
      }
      expect(unit, 'the command exists now: drop the template marker').not.toContain(TEMPLATE);
      const r = await malist([command!, ...options, '--help']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    });
  });
});

describe('examples/systemd sysusers.d and tmpfiles.d', () => {
  it.skipIf(!hasCommand('systemd-tmpfiles') || !hasCommand('systemd-sysusers'))(
    'make the user malist and, owned by it, every folder the units may write but /etc',
    async () => {
      const root = await mkdtemp(join(tmpdir(), 'malist-root-'));
      await mkdir(join(root, 'etc'));
      for (const f of ['passwd', 'group', 'shadow', 'gshadow'])
        await writeFile(join(root, 'etc', f), '');
      execFileSync('systemd-sysusers', [`--root=${root}`, join(DIR, 'malist.sysusers')], {
        stdio: 'pipe',
      });
      const passwd = await readFile(join(root, 'etc/passwd'), 'utf8');
      const uid = Number(/^malist:x:(\d+):/m.exec(passwd)![1]);
      execFileSync('systemd-tmpfiles', [
        `--root=${root}`,
        '--create',
        join(DIR, 'malist.tmpfiles'),
      ]);
      const unit = await readFile(join(DIR, 'malist-watch.service'), 'utf8');
      const writable = values(unit, 'ReadWritePaths')
        .flatMap((v) => v.split(/\s+/))
        .filter((p) => !p.startsWith('/etc/'));
      for (const folder of writable) {
        const s = await stat(join(root, folder));
        expect(s.isDirectory(), folder).toBe(true);
        expect(s.uid, folder).toBe(uid);
        expect(s.mode & 0o777, folder).toBe(0o750);
      }
    },
  );
});
