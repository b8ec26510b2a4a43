/**
 * The queues `malist queue` and `malist sendmail` work on: those of the `type: queue`
 * distributors in `--config DIR`'s malist.yaml (built by the config loader, so servers,
 * secrets and the `queue:` defaults mean what they mean for `malist run`), or a bare
 * `--spool DIR` with `--smtp HOST[:PORT]` when there is no configuration at hand.
 * A problem elsewhere in the configuration (a broken list file) is reported, but does not
 * stop the queue from being drained.
 */
import { resolve } from 'node:path';
import { ErrorCode, StageError } from '../errors.ts';
import { createQueue, type Queue } from '../queue/queue.ts';
import { createSmtpTransport } from '../smtp/nodemailer.ts';
import type { Distributor } from '../types.ts';

export interface QueueCliFlags {
  spool?: string;
  config?: string;
  smtp?: string;
}

export interface OpenedQueues {
  queues: Queue[];
  /** Configuration problems that did not prevent opening the queues. */
  warnings: string[];
  close(): Promise<void>;
}

function problem(message: string): StageError {
  return new StageError(message, { code: ErrorCode.CONFIG, unit: 'queue' });
}

/** `HOST`, `HOST:PORT` or `[v6]:PORT`. */
export function parseHostPort(value: string): { host: string; port?: number } {
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(value);
  if (!match?.[1]) throw problem(`--smtp ${value}: expected HOST or HOST:PORT`);
  return {
    host: match[1].replace(/^\[|\]$/g, ''),
    ...(match[2] ? { port: Number(match[2]) } : {}),
  };
}

/** Opens the queues the flags name; throws a StageError (ECONFIG) when there are none. */
export async function openQueues(flags: QueueCliFlags): Promise<OpenedQueues> {
  if (flags.spool && !flags.config) {
    const queue = createQueue(
      { dir: flags.spool },
      { transport: createSmtpTransport(flags.smtp ? parseHostPort(flags.smtp) : {}) },
    );
    return { queues: [queue], warnings: [], close: () => queue.close() };
  }
  if (flags.smtp) {
    throw problem(
      '--smtp goes with --spool; with a configuration, the queue uses its server: settings',
    );
  }
  // Loaded only here: a bare --spool run (cron's sendmail) need not compile every unit.
  const { buildRuntime } = await import('../config/runtime.ts');
  const { openConfig } = await import('../config/open.ts');
  const { formatProblem } = await import('../config/problem.ts');
  const dir = flags.config ?? '.';
  const { config, plans } = await openConfig({ dir });
  const warnings = config.problems.map(formatProblem);
  if (config.embedded)
    throw problem(
      `no malist.yaml in ${resolve(dir)}: give --config DIR, or --spool DIR --smtp HOST`,
    );
  if (!config.main)
    throw problem(`${resolve(dir)}/malist.yaml is unusable:\n${warnings.join('\n')}`);
  // The lists' runtime, so a recipient refused at this run counts as a bounce.
  let runtime: Awaited<ReturnType<typeof buildRuntime>>;
  try {
    runtime = await buildRuntime(config, plans);
  } catch (error) {
    throw new StageError('cannot set up the distributors', {
      code: ErrorCode.CONFIG,
      unit: 'queue',
      cause: error,
    });
  }
  const distributors: Distributor[] = runtime.outlets;
  const close = () => runtime.close();
  let queues = distributors.flatMap((d) => {
    const queue = (d as Distributor & { queue?: Queue }).queue;
    return queue ? [queue] : [];
  });
  if (flags.spool) {
    const wanted = resolve(flags.spool);
    queues = queues.filter((q) => q.store.kind === 'files' && resolve(q.where) === wanted);
  }
  if (queues.length === 0) {
    await close();
    const why = flags.spool ? ` with spool ${resolve(flags.spool)}` : '';
    throw problem(
      `no type: queue distributor${why} in ${resolve(dir)}/malist.yaml${warnings.length ? `:\n${warnings.join('\n')}` : ''}`,
    );
  }
  return { queues, warnings, close };
}
