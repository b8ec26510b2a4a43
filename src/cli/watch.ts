/**
 * `malist watch [--config DIR]` — the long-running alternative to cron: keeps an IMAP
 * connection in IDLE on the first `type: imap` source and does what `malist run` does (every
 * source, the queue, under the same run lock) at start, as soon as mail arrives, and every
 * poll interval. A dead connection is found by a heartbeat and replaced. SIGTERM or SIGINT:
 * the mail in hand is finished (the run fetches no more), then exit 0 (a second signal ends
 * the process at once).
 */
import { parseArgs } from 'node:util';
import { openConfig, printProblems } from '../config/open.ts';
import { describeError } from '../errors.ts';
import type { ImapOptions } from '../fetchers/imap.ts';
import { watch } from '../fetchers/imap-watch.ts';
import { EX } from './exit-codes.ts';
import run from './run.ts';

const USAGE = `usage: malist watch [--config DIR] [--quiet] [--poll SECONDS] [--heartbeat SECONDS]

Watches the first IMAP source in DIR/malist.yaml with IMAP IDLE and runs \`malist run\` as soon
as mail arrives (and every --poll seconds, default 600). Stops cleanly on SIGTERM/SIGINT
after the mail in hand. Exit status: 0 stopped, 78 configuration error.`;

export default async function watchCommand(argv: string[]): Promise<number> {
  let values: {
    config?: string;
    quiet?: boolean;
    help?: boolean;
    poll?: string;
    heartbeat?: string;
  };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        quiet: { type: 'boolean', short: 'q' },
        help: { type: 'boolean', short: 'h' },
        poll: { type: 'string' },
        heartbeat: { type: 'string' },
      },
    }));
  } catch (error) {
    process.stderr.write(`malist watch: ${(error as Error).message}\n${USAGE}\n`);
    return EX.USAGE;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return EX.OK;
  }
  const seconds = (value: string | undefined, name: string, fallback: number) => {
    if (value === undefined) return fallback * 1000;
    const n = Number(value);
    if (!(n > 0)) throw new Error(`--${name} must be a positive number of seconds`);
    return n * 1000;
  };
  let poll: number;
  let heartbeat: number;
  try {
    poll = seconds(values.poll, 'poll', 600);
    heartbeat = seconds(values.heartbeat, 'heartbeat', 60);
  } catch (error) {
    process.stderr.write(`malist watch: ${(error as Error).message}\n`);
    return EX.USAGE;
  }

  const { config, plans } = await openConfig(values.config ? { dir: values.config } : {});
  if (config.problems.length > 0 || !config.main) {
    printProblems(config, process.stderr);
    process.stderr.write('malist watch: configuration problems; nothing done\n');
    return EX.CONFIG;
  }
  const source = plans.fetchers.find((p) => p.type === 'imap');
  if (!source) {
    process.stderr.write(
      `malist watch: ${config.source.file} has no \`type: imap\` source to watch; use \`malist run\` from cron for other sources\n`,
    );
    return EX.CONFIG;
  }
  const imap = source.options as unknown as ImapOptions;

  const controller = new AbortController();
  const stop = (sig: NodeJS.Signals) => {
    process.stderr.write(`malist watch: ${sig}, stopping after the mail in hand\n`);
    controller.abort();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  const runArgs = [
    ...(values.config ? ['--config', values.config] : []),
    ...(values.quiet ? ['--quiet'] : []),
  ];
  if (!values.quiet) {
    process.stdout.write(
      `malist watch: watching ${imap.mailbox ?? 'INBOX'} of ${imap.user} on ${imap.host}\n`,
    );
  }
  try {
    await watch({
      imap,
      signal: controller.signal,
      heartbeat,
      pollInterval: poll,
      runOnce: async (signal) => {
        const code = await run(runArgs, { signal });
        if (code !== EX.OK) throw new Error(`malist run ended with exit status ${code}`);
      },
      onError: (error) => process.stderr.write(`malist watch: ${describeError(error)}\n`),
    });
  } finally {
    process.removeListener('SIGTERM', stop);
    process.removeListener('SIGINT', stop);
  }
  return EX.OK;
}
