/**
 * The temporary directory a network fetcher streams messages into. Its name carries the
 * owner's pid, so a directory left by a process that was killed mid-download is removed by
 * the next fetcher that starts, and only when that process is provably gone (a pid, not a
 * clock).
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, owned by someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Makes `<tmpDir>/malist-<unit>-<pid>-XXXXXX` after removing those of dead processes. */
export async function makeDownloadDir(tmpDir: string, unit: string): Promise<string> {
  const prefix = `malist-${unit}-`;
  const names = await readdir(tmpDir).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !alive(pid)) {
      await rm(join(tmpDir, name), { recursive: true, force: true }).catch(() => {});
    }
  }
  return mkdtemp(join(tmpDir, `${prefix}${process.pid}-`));
}
