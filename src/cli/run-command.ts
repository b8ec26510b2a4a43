/**
 * Running one subcommand's module: what every command shares, whichever entry loaded it
 * (`main.ts`'s table, or `receive-main.ts`, the `malist receive` bundle's own entry): output
 * that ends quietly when its reader goes away, one line and a sysexits code for an expected
 * failure, a stack for a bug, and the database pools closed so node can exit.
 */
import { EX } from './exit-codes.ts';

/** A subcommand: takes the remaining arguments, resolves to an exit code. */
export type Command = (argv: string[]) => Promise<number>;

/**
 * A reader that goes away (`malist check | head -1`) ends the output, not the command: no
 * EPIPE stack trace, and the exit code stays the command's own.
 */
let pipesQuiet = false;
export function quietPipes(): void {
  if (pipesQuiet) return;
  pipesQuiet = true;
  for (const stream of [process.stdout, process.stderr])
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') return;
      throw error;
    });
}

/** The errno or StageError code along `error`'s cause chain: an expected failure, not a bug. */
function expectedCode(error: unknown): { code: string; temporary: boolean } | undefined {
  let e = error as { code?: unknown; temporary?: unknown; cause?: unknown } | undefined;
  for (let i = 0; i < 5 && e && typeof e === 'object'; i++) {
    if (typeof e.code === 'string' && /^E[A-Z0-9_]+$/.test(e.code))
      return { code: e.code, temporary: e.temporary === true };
    e = e.cause as typeof e;
  }
  return undefined;
}

/** One line for an expected failure (a configuration, a server, a file); a bug keeps its stack. */
function failed(name: string, error: unknown): number {
  const expected = expectedCode(error);
  const message = error instanceof Error ? error.message : String(error);
  if (!expected) {
    process.stderr.write(
      `malist ${name}: internal error (please report it): ${(error as Error)?.stack ?? message}\n`,
    );
    return EX.SOFTWARE;
  }
  process.stderr.write(`malist ${name}: ${message}\n`);
  if (expected.code === 'ECONFIG') return EX.CONFIG;
  if (expected.temporary) return EX.TEMPFAIL;
  if (/^E(ACCES|PERM|ROFS|NOSPC|DQUOT|EXIST|ISDIR|NOTDIR)$/.test(expected.code))
    return EX.CANTCREAT;
  if (expected.code === 'ENOENT') return EX.NOINPUT;
  return EX.SOFTWARE;
}

/** Runs the command `name` (its module from `load`) on `rest`; resolves to the exit code. */
export async function runCommand(
  name: string,
  load: () => Promise<{ default: Command }>,
  rest: string[],
): Promise<number> {
  quietPipes();
  try {
    const mod = await load();
    return await mod.default(rest);
  } catch (error) {
    return failed(name, error);
  } finally {
    // The PostgreSQL pools the command opened (storage: postgres), so node can exit.
    const { closeDatabases } = await import('../config/storage.ts');
    await closeDatabases().catch(() => {});
  }
}
