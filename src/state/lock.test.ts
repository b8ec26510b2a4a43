import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  acquireLock,
  currentHolder,
  formatHolder,
  isHolderGone,
  parseHolder,
  processStartTime,
  withFileLock,
} from './lock.ts';

describe('process lock', () => {
  it('round-trips a holder and sees itself alive', () => {
    const me = currentHolder();
    expect(parseHolder(formatHolder(me))).toEqual(me);
    expect(isHolderGone(me)).toBe(false);
  });
  it('a finished process is gone; a recycled PID (other start time) is gone; another host is never', () => {
    const child = spawnSync('true');
    expect(isHolderGone({ ...currentHolder(), pid: child.pid as number })).toBe(true);
    expect(isHolderGone({ ...currentHolder(), start: '1' })).toBe(true);
    expect(isHolderGone({ ...currentHolder(), host: 'elsewhere', pid: child.pid as number })).toBe(
      false,
    );
  });
});

describe('run lock', () => {
  it('is held by one at a time and released by its holder', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'malist-lock-')), 'run.lock');
    const first = await acquireLock(path);
    expect('lock' in first).toBe(true);
    expect((await readFile(path, 'utf8')).trim()).toBe(formatHolder(currentHolder()));
    const second = await acquireLock(path);
    expect(second).toEqual({ busy: currentHolder() });
    if ('lock' in first) await first.lock.release();
    const third = await acquireLock(path);
    expect('lock' in third).toBe(true);
    if ('lock' in third) await third.lock.release();
  });

  it('is taken over only when its holder is provably gone (a dead PID), never by age', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'malist-lock-')), 'run.lock');
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    const pid = child.pid!;
    const holder = { host: currentHolder().host, pid, start: processStartTime(pid) ?? '0' };
    await writeFile(path, `${formatHolder(holder)}\n`);
    expect(await acquireLock(path)).toEqual({ busy: holder });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const taken = await acquireLock(path);
    expect('lock' in taken).toBe(true);
    if ('lock' in taken) await taken.lock.release();
  });

  it('treats an unreadable lock as held (it cannot prove the holder gone)', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'malist-lock-')), 'run.lock');
    await writeFile(path, 'garbage\n');
    expect(await acquireLock(path)).toEqual({ busy: undefined });
  });
});

async function deadHolder(): Promise<string> {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  const pid = child.pid!;
  const holder = { host: currentHolder().host, pid, start: processStartTime(pid) ?? '0' };
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  return `${formatHolder(holder)}\n`;
}

describe('withFileLock', () => {
  it('serialises edits: none is lost', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'malist-flock-')), 'members.txt');
    await writeFile(file, '');
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        withFileLock(file, async () => {
          const text = await readFile(file, 'utf8');
          await new Promise((r) => setTimeout(r, 1));
          await writeFile(file, `${text}m${i}\n`);
        }),
      ),
    );
    expect((await readFile(file, 'utf8')).trim().split('\n')).toHaveLength(20);
  });

  it('takes over a lock whose holder is gone; waits on a live one, then names it', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'malist-flock-')), 'members.txt');
    await writeFile(`${file}.lock`, await deadHolder());
    expect(await withFileLock(file, async () => 'ran')).toBe('ran');
    await writeFile(`${file}.lock`, `${formatHolder(currentHolder())}\n`);
    await expect(withFileLock(file, async () => 'ran', 200)).rejects.toThrow(/is locked by/);
  });
});
