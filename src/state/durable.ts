/**
 * Durable file writes: write to a temporary name, fsync, rename into place, fsync the
 * directory. After `writeFileDurable` resolves, the file survives a crash or power cut with
 * either its old content or its new one, never a torn mix.
 */
import { randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { link, mkdir, open, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Opens `path` with `flags`, creating its directory only when it is missing (the usual
 * case, an existing directory, costs no mkdir call).
 */
async function openCreating(path: string, flags: string, mode: number): Promise<FileHandle> {
  try {
    return await open(path, flags, mode);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await mkdir(dirname(path), { recursive: true });
    return open(path, flags, mode);
  }
}

/**
 * Writes a new file (`wx`: never one that exists) and forces its bytes to disk; the caller
 * makes its name durable (an fsync of the directory, or of a directory renamed later).
 * For files inside a private staging directory, where a torn file is never seen.
 */
export async function writeNewFileSynced(
  path: string,
  data: Buffer | string,
  mode = 0o640,
): Promise<void> {
  const handle = await openCreating(path, 'wx', mode);
  try {
    await handle.writeFile(data);
    // fdatasync: the bytes and the size, which is all a new file needs to be read back.
    await handle.datasync();
  } catch (error) {
    await handle.close().catch(() => {});
    await unlink(path).catch(() => {});
    throw error;
  }
  await handle.close();
}

/** Writes `data` to `path` atomically and durably; creates the directory if needed. */
export async function writeFileDurable(
  path: string,
  data: Buffer | string,
  opts: { tmpDir?: string; mode?: number } = {},
): Promise<void> {
  const dir = dirname(path);
  const tmpDir = opts.tmpDir ?? dir;
  if (tmpDir !== dir) await mkdir(dir, { recursive: true });
  const tmp = join(tmpDir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  await writeNewFileSynced(tmp, data, opts.mode ?? 0o640);
  try {
    await rename(tmp, path);
  } catch (error) {
    await unlink(tmp).catch(() => {});
    throw error;
  }
  await fsyncDir(dir);
}

/**
 * Writes `data` to `path` durably unless `path` exists: written whole under a name of its
 * own, then linked into place (link() is atomic and fails when the name exists), so of two
 * processes writing at once exactly one wins. Resolves whether this call wrote it.
 */
export async function writeFileDurableOnce(
  path: string,
  data: Buffer | string,
  opts: { mode?: number } = {},
): Promise<boolean> {
  const mine = `${path}.${process.pid}-${randomBytes(6).toString('hex')}`;
  await writeFileDurable(mine, data, opts);
  try {
    await link(mine, path);
    await fsyncDir(dirname(path));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return false;
  } finally {
    await unlink(mine).catch(() => {});
  }
}
