/**
 * Preloaded (`node --import tsx --import this-file bin/malist.js …`) by the fault suite
 * only: makes writes under a chosen path fail the way a full disk (ENOSPC) or a spool the
 * runner may not write (EACCES) does — as root, chmod does not stop writes, and a real
 * full file system is not something a test can make. MALIST_TEST_FS_FAULT=CODE:PATH-PART
 * is read here and nowhere else.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const spec = process.env.MALIST_TEST_FS_FAULT ?? '';
const [code = '', part = ''] = spec.split(/:(.*)/s);
const errno: Record<string, number> = { ENOSPC: -28, EACCES: -13, EROFS: -30, EIO: -5 };

if (code && part) {
  const fail = (syscall: string, path: unknown): never => {
    const error = new Error(
      `${code}: ${code === 'ENOSPC' ? 'no space left on device' : 'simulated fault'}, ${syscall} '${String(path)}'`,
    ) as NodeJS.ErrnoException;
    error.code = code;
    error.errno = errno[code] ?? -1;
    error.syscall = syscall;
    error.path = String(path);
    throw error;
  };
  const hit = (path: unknown) => String(path).includes(part);
  const writing = (flags: unknown) => /[wa+]/.test(String(flags ?? 'r'));
  const p = fs.promises;
  const open = p.open;
  p.open = (async (path: fs.PathLike, flags?: string | number, mode?: fs.Mode) => {
    if (hit(path) && writing(flags)) fail('open', path);
    return open(path, flags, mode);
  }) as typeof p.open;
  const mkdir = p.mkdir;
  p.mkdir = (async (path: fs.PathLike, options?: fs.MakeDirectoryOptions) => {
    if (hit(path) && code !== 'ENOSPC') fail('mkdir', path);
    return mkdir(path, options);
  }) as typeof p.mkdir;
  const writeFile = p.writeFile;
  p.writeFile = (async (path: Parameters<typeof writeFile>[0], ...rest: unknown[]) => {
    if (hit(path)) fail('open', path);
    return (writeFile as (...a: unknown[]) => Promise<void>)(path, ...rest);
  }) as typeof p.writeFile;
  const rename = p.rename;
  p.rename = (async (from: fs.PathLike, to: fs.PathLike) => {
    if (hit(to)) fail('rename', to);
    return rename(from, to);
  }) as typeof p.rename;
  syncBuiltinESMExports();
}
