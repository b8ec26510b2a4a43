/**
 * The argument parsing every subcommand shares: node:util's parseArgs with positionals, and
 * on a bad option the one error shape (`malist NAME: problem`, then the usage) and no result.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

/** The parsed command line, or undefined once the problem and `usage` are written to `err`. */
export function commandArgs<O extends Options>(
  name: string,
  argv: string[],
  options: O,
  usage: string,
  err: { write(text: string): unknown },
):
  | ReturnType<typeof parseArgs<{ args: string[]; allowPositionals: true; options: O }>>
  | undefined {
  try {
    return parseArgs({ args: argv, allowPositionals: true, options });
  } catch (error) {
    err.write(`malist ${name}: ${(error as Error).message}\n${usage}`);
    return undefined;
  }
}
