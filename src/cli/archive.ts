/**
 * `malist archive export --list NAME`: a list's archive (the `archive` distributor's
 * monthly mbox or maildir files) as one mbox on stdout or in a file.
 */
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { exportArchive } from '../archive/export.ts';
import { openConfig, printProblems } from '../config/open.ts';
import { EX } from './exit-codes.ts';

export const usage = `usage: malist archive export --list NAME [options]

options:
  --dir DIR       the archive root (the archive distributor's dir; default STATE_DIR/archive)
  --from YYYY-MM  first month (default: the first archived)
  --to YYYY-MM    last month (default: the last archived)
  --out FILE      write here instead of standard output
  --config DIR    the configuration directory (for the default --dir)
  -h, --help      this text
`;

export default async function archive(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        list: { type: 'string', short: 'l' },
        dir: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        out: { type: 'string', short: 'o' },
        config: { type: 'string', short: 'c' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    process.stderr.write(`malist archive: ${(error as Error).message}\n${usage}`);
    return EX.USAGE;
  }
  if (values.help) {
    process.stdout.write(usage);
    return EX.OK;
  }
  const month = /^\d{4}-\d{2}$/;
  if (positionals[0] !== 'export' || typeof values.list !== 'string') {
    process.stderr.write(usage);
    return EX.USAGE;
  }
  for (const key of ['from', 'to'] as const) {
    if (values[key] !== undefined && !month.test(String(values[key]))) {
      process.stderr.write(`malist archive: --${key} must be YYYY-MM\n`);
      return EX.USAGE;
    }
  }
  let dir = values.dir as string | undefined;
  if (!dir) {
    const { config } = await openConfig(
      typeof values.config === 'string' ? { dir: values.config } : {},
    );
    if (config.problems.length > 0 || !config.main) {
      printProblems(config, process.stderr);
      return EX.CONFIG;
    }
    dir = join(config.main.state_dir, 'archive');
  }
  const file = typeof values.out === 'string' ? createWriteStream(values.out) : undefined;
  const out: NodeJS.WritableStream = file ?? process.stdout;
  let count = 0;
  for await (const chunk of exportArchive({
    dir,
    list: values.list,
    ...(values.from ? { from: String(values.from) } : {}),
    ...(values.to ? { to: String(values.to) } : {}),
  })) {
    count++;
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  if (file) await new Promise<void>((r) => file.end(() => r()));
  if (count === 0)
    process.stderr.write(`malist archive: nothing archived for ${values.list} in ${dir}\n`);
  return EX.OK;
}
