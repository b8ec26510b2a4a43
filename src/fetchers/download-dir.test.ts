import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { makeDownloadDir } from './download-dir.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

it('removes the download dirs of dead processes only, then makes its own', async () => {
  const tmp = await mkdtemp(join(tmpdir(), 'malist-dl-test-'));
  dirs.push(tmp);
  // A pid that surely ended: a child that has exited.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  }).stdout;
  await mkdir(join(tmp, `malist-pop3-${dead}-abc`));
  await mkdir(join(tmp, `malist-pop3-${process.ppid}-def`)); // alive: our parent
  await mkdir(join(tmp, `malist-imap-${dead}-ghi`)); // another unit's: not ours to judge
  await mkdir(join(tmp, 'unrelated'));
  const made = await makeDownloadDir(tmp, 'pop3');
  expect(made.startsWith(join(tmp, `malist-pop3-${process.pid}-`))).toBe(true);
  expect((await readdir(tmp)).sort()).toEqual(
    [
      `malist-imap-${dead}-ghi`,
      `malist-pop3-${process.ppid}-def`,
      made.split('/').pop()!,
      'unrelated',
    ].sort(),
  );
});
