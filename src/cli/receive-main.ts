/**
 * The entry of `malist receive`'s own bundle (dist/bin/receive.cjs, built by
 * scripts/build.js): a process per mail loads only this command's modules, as one CommonJS
 * script that `bin/malist.js` compiles with V8's code cache made at build time, instead of
 * the command table's ES module chunks (BENCHMARKS.md has the figures). Runs the command as
 * `main.ts` does (`run-command.ts`), so its output and exit codes are the same.
 */
import './zod-jitless.ts';
import receive from './receive.ts';
import { runCommand } from './run-command.ts';

/** Runs `malist receive ARGS` (`argv` starts with `receive`); resolves to the exit code. */
export function main(argv: string[]): Promise<number> {
  return runCommand('receive', async () => ({ default: receive }), argv.slice(1));
}
