/**
 * Durable file writes: write to a temporary name, fsync, rename into place, fsync the
 * directory. After `writeFileDurable` resolves, the file survives a crash or power cut with
 * either its old content or its new one, never a torn mix.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes `data` to `path` atomically and durably; creates the directory if needed. */
export async function writeFileDurable(
  path: string,
  data: Buffer | string,
  opts: { tmpDir?: string; mode?: number } = {},
): Promise<void> {
  const dir = dirname(path);
  const tmpDir = opts.tmpDir ?? dir;
  await mkdir(tmpDir, { recursive: true });
  await mkdir(dir, { recursive: true });
  const tmp = join(tmpDir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  const handle = await open(tmp, 'wx', opts.mode ?? 0o640);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw error;
  } finally {
    await handle.close().catch(() => {});
  }
  try {
    await rename(tmp, path);
  } catch (error) {
    await unlink(tmp).catch(() => {});
    throw error;
  }
  await fsyncDir(dir);
}
