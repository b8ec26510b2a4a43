import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { currentHolder, formatHolder, processStartTime } from '../queue/process-lock.ts';
import { withFileLock } from './file-lock.ts';

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
