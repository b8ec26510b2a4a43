/**
 * `malist queue list | run | retry [ID] | drop ID`: look at and work the durable queue.
 * Runs from cron (`malist queue run`), several at once if need be: runners share the spool
 * without sending anything twice.
 */
import { describeError, StageError } from '../errors.ts';
import type { Queue } from '../queue/queue.ts';
import { commandArgs } from './args.ts';
import { EX } from './exit-codes.ts';
import { type OpenedQueues, openQueues } from './queue-config.ts';
import { formatTable, queueRows } from './queue-view.ts';

export const usage = `usage: malist queue <command> [options]

commands:
  list              the entries, one row each: ID, list, age, recipients pending/failed, next
                    attempt, state (waiting, claimed, first round, dead), last server reply
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
  --wide            list: whole IDs and reasons (the table cuts them, ending in …)
  --json            list: one JSON document instead of the table:
                    { "entries": [ { id, list, message_id, state, pid, created, age_seconds,
                      pending, delivered, failed, next_attempt, last_error, problem,
                      recipients: [ { address, state, attempts, reply } ] } ] }
  -h, --help        this text
`;

/** The table `malist queue list` prints (exported for tests). */
export { formatTable };

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

const OPTIONS = {
  spool: { type: 'string' },
  config: { type: 'string' },
  smtp: { type: 'string' },
  json: { type: 'boolean' },
  wide: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export default async function queueCommand(argv: string[]): Promise<number> {
  const parsed = commandArgs('queue', argv, OPTIONS, usage, process.stderr);
  if (!parsed) return EX.USAGE;
  const { values, positionals } = parsed;
  const [command, target] = positionals;
  if (values.help) {
    process.stdout.write(usage);
    return EX.OK;
  }
  if (
    !command ||
    !['list', 'run', 'retry', 'drop'].includes(command) ||
    positionals.length > (command === 'list' || command === 'run' ? 1 : 2) ||
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
        const doc = { entries: queueRows(entries, Date.now()) };
        process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
      } else if (entries.length === 0) {
        process.stdout.write('the queue is empty\n');
      } else {
        process.stdout.write(`${formatTable(entries, Date.now(), values.wide === true)}\n`);
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
        `${queues.length > 1 ? `${queue.where}: ` : ''}` +
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
