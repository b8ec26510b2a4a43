/**
 * `malist queue list | run | retry [ID] | drop ID`: look at and work the durable queue.
 * Runs from cron (`malist queue run`), several at once if need be: runners share the spool
 * without sending anything twice.
 */
import { parseArgs } from 'node:util';
import { describeError, StageError } from '../errors.ts';
import { nextAttempt } from '../queue/envelope.ts';
import type { Queue } from '../queue/queue.ts';
import type { SpoolEntry } from '../queue/spool.ts';
import { EX } from './exit-codes.ts';
import { type OpenedQueues, openQueues } from './queue-config.ts';

export const usage = `usage: malist queue <command> [options]

commands:
  list              the entries: ID, list, age, recipients pending/failed, next attempt, last error
                    (and posts in their first round, sent before anything is spooled)
  run               deliver every entry that is due (and entries of runners that died)
  retry [ID]        deliver ID (or every entry) now, whatever its next attempt time
  drop ID           give up on ID's pending recipients (kept as a dead letter);
                    on a dead letter: remove it

options:
  --config DIR      the configuration: every type: queue distributor of DIR/malist.yaml
                    (default: the working directory)
  --spool DIR       only the queue with this spool; without --config, this spool alone,
                    delivered to --smtp HOST[:PORT] (default localhost:25)
  --json            list: one JSON object per line instead of the table
  -h, --help        this text
`;

function age(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400)
    return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86_400)}d${Math.floor((s % 86_400) / 3600)}h`;
}

/** The table `malist queue list` prints (exported for tests). */
export function formatTable(entries: SpoolEntry[], now: number): string {
  const rows = [
    ['ENTRY', 'LIST', 'AGE', 'PENDING', 'FAILED', 'NEXT ATTEMPT', 'STATE', 'LAST ERROR'],
  ];
  for (const e of entries) {
    const pending = e.envelope.recipients.filter((r) => r.state === 'pending').length;
    const failed = e.envelope.recipients.filter((r) => r.state === 'failed').length;
    const next = nextAttempt(e.envelope);
    const state = e.firstRound
      ? `first round, pid ${e.holder?.pid ?? '?'}`
      : e.where === 'cur'
        ? `claimed by pid ${e.holder?.pid ?? '?'}`
        : e.where === 'dead'
          ? 'dead'
          : 'waiting';
    const lastError =
      e.where === 'dead'
        ? (e.envelope.recipients.find((r) => r.state === 'failed')?.response ?? '')
        : (e.envelope.last_error ?? '');
    rows.push([
      e.id.slice(0, 16),
      e.envelope.list ?? '-',
      age(now - e.envelope.created),
      e.firstRound ? '-' : String(pending),
      e.firstRound ? '-' : String(failed),
      e.where === 'dead' || e.firstRound || next === undefined
        ? '-'
        : next <= now
          ? 'now'
          : `in ${age(next - now)}`,
      state,
      lastError.replace(/\s+/g, ' ').slice(0, 70),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The entry a full ID or unique prefix names (the table shows 16 characters), and its queue. */
async function resolveId(
  queues: Queue[],
  prefix: string,
): Promise<{ id: string; queue: Queue } | undefined> {
  const found = new Map<string, Queue>();
  for (const queue of queues) for (const e of await queue.list()) found.set(e.id, queue);
  const exact = found.get(prefix);
  if (exact) return { id: prefix, queue: exact };
  const matches = [...found].filter(([id]) => id.startsWith(prefix));
  const [only] = matches;
  return matches.length === 1 && only ? { id: only[0], queue: only[1] } : undefined;
}

function parseQueueArgs(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      spool: { type: 'string' },
      config: { type: 'string' },
      smtp: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

export default async function queueCommand(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseQueueArgs>;
  try {
    parsed = parseQueueArgs(argv);
  } catch (error) {
    process.stderr.write(`malist queue: ${describeError(error)}\n${usage}`);
    return EX.USAGE;
  }
  const { values, positionals } = parsed;
  const [command, target] = positionals;
  if (values.help) {
    process.stdout.write(usage);
    return EX.OK;
  }
  if (
    !command ||
    !['list', 'run', 'retry', 'drop'].includes(command) ||
    (command === 'drop' && !target)
  ) {
    process.stderr.write(usage);
    return EX.USAGE;
  }
  let opened: OpenedQueues;
  try {
    opened = await openQueues(values);
  } catch (error) {
    process.stderr.write(`malist queue: ${describeError(error)}\n`);
    return error instanceof StageError && error.code === 'ECONFIG' ? EX.CONFIG : EX.SOFTWARE;
  }
  for (const warning of opened.warnings)
    process.stderr.write(`malist queue: warning: ${warning}\n`);
  const { queues } = opened;
  try {
    if (command === 'list') {
      const entries = (await Promise.all(queues.map((q) => q.list()))).flat();
      if (values.json) {
        for (const e of entries) {
          const first = e.firstRound ? { first_round: true } : {};
          process.stdout.write(`${JSON.stringify({ where: e.where, ...first, ...e.envelope })}\n`);
        }
      } else if (entries.length === 0) {
        process.stdout.write('the queue is empty\n');
      } else {
        process.stdout.write(`${formatTable(entries, Date.now())}\n`);
      }
      return EX.OK;
    }
    let targets = queues;
    let ids: string[] | undefined;
    if (target) {
      const found = await resolveId(queues, target);
      if (!found) {
        process.stderr.write(
          `malist queue: no single entry matches '${target}' (see malist queue list)\n`,
        );
        return EX.USAGE;
      }
      ids = [found.id];
      targets = [found.queue];
    }
    if (command === 'drop') {
      const id = ids?.[0] ?? '';
      const outcome = await targets[0]!.drop(id);
      const text = {
        dropped: 'dropped: pending recipients given up, the message is kept as a dead letter',
        'removed-dead-letter': 'dead letter removed',
        busy: 'the entry is being delivered by another runner right now; try again',
        unknown: 'no such entry',
      }[outcome];
      process.stdout.write(`${id}: ${text}\n`);
      return outcome === 'busy' ? EX.TEMPFAIL : outcome === 'unknown' ? EX.USAGE : EX.OK;
    }
    let failed = false;
    for (const queue of targets) {
      const summary = await queue.run({ force: command === 'retry', ...(ids ? { ids } : {}) });
      process.stdout.write(
        `${queues.length > 1 ? `${queue.layout.dir}: ` : ''}` +
          `entries ${summary.processed} (reclaimed ${summary.reclaimed}, finished ${summary.finished}); ` +
          `recipients delivered ${summary.delivered}, deferred ${summary.deferred}, failed ${summary.failed}\n`,
      );
      for (const error of summary.errors) process.stderr.write(`malist queue: ${error}\n`);
      if (summary.errors.length > 0) failed = true;
    }
    return failed ? EX.TEMPFAIL : EX.OK;
  } catch (error) {
    process.stderr.write(`malist queue: ${describeError(error)}\n`);
    return EX.TEMPFAIL;
  } finally {
    await opened.close();
  }
}
