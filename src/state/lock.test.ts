import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { currentHolder, formatHolder, processStartTime } from '../queue/process-lock.ts';
import { acquireLock } from './lock.ts';

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
