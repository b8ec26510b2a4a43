/**
 * `malist held list | approve ID | reject ID | discard ID | expire`: the moderation queue
 * from a shell. A decision here is the same durable, once-only decision a moderator's
 * mail makes (src/moderation): an approved post runs the list's pipeline as approved and is
 * delivered through the configured distributors under the journal, so running the command
 * twice, or after the moderator already answered by mail, sends nothing twice.
 */
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { buildDistributors, buildList, buildReactors } from '../config/build.ts';
import { openConfig, printProblems } from '../config/open.ts';
import { NothingMore } from '../errors.ts';
import { createListMail } from '../mail/list-mail.ts';
import { decide } from '../moderation/decide.ts';
import { expireHeld } from '../moderation/expire.ts';
import {
  doneStore,
  heldStore,
  type ModerationAction,
  type ModerationContext,
  releasedMail,
} from '../moderation/held.ts';
import type { Notice } from '../notices/compose.ts';
import { noticeOutlet, posterOf, sendListNotice } from '../notices/list-notices.ts';
import { play } from '../play.ts';
import type { ListSettings } from '../processors/list.ts';
import type { Distributor, Fetched, ListMail, Processor } from '../types.ts';
import { EX } from './exit-codes.ts';

export const usage = `usage: malist held <command> [ID] [options]

commands:
  list              held posts: ID, list, age, sender, subject, reason
  approve ID        release the post to the list (it skips the rules that held it)
  reject ID         refuse the post; the poster is told why
  discard ID        drop the post silently
  expire            drop posts held longer than held_expiry_days (posters told)

options:
  --config DIR      the configuration directory (malist.yaml, lists/)
  --list NAME       only this list
  -h, --help        this text
`;

/** What the command needs; the default export builds it from the configuration. */
export interface HeldDeps {
  stateDir: string;
  lists: ListSettings[];
  /** A list's posting pipeline. */
  pipeline(list: string): Processor | undefined;
  /** Delivers posts and notices through the configured distributors, under the journal. */
  deliver(mails: ListMail[]): Promise<void>;
  out: { write(text: string): unknown };
  err: { write(text: string): unknown };
  now?: () => number;
}

function age(ms: number): string {
  const h = Math.max(0, Math.round(ms / 3_600_000));
  return h < 48 ? `${h}h` : `${Math.round(h / 24)}d`;
}

/** The command itself, against `deps` (tested without a configuration). */
export async function runHeld(argv: string[], deps: HeldDeps): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        list: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    deps.err.write(`malist held: ${(error as Error).message}\n${usage}`);
    return EX.USAGE;
  }
  const [command, id] = parsed.positionals;
  const only = parsed.values.list as string | undefined;
  const lists = deps.lists.filter((l) => only === undefined || l.name === only);
  if (only !== undefined && lists.length === 0) {
    deps.err.write(`malist held: no list named ${only}\n`);
    return EX.USAGE;
  }
  const notices: Notice[] = [];
  const ctx: ModerationContext = {
    stateDir: deps.stateDir,
    pipeline: deps.pipeline,
    notices: noticeOutlet({
      lists: {},
      state_dir: deps.stateDir,
      send: async (n) => void notices.push(n),
    }),
    now: deps.now,
  };
  const noticeMails = () =>
    notices.map((n) => ({
      ...createListMail(n.raw, { fetcher: 'malist-held', id: n.to }),
      ml_sender: n.from,
      ml_send_to: [n.to],
    }));
  const now = deps.now?.() ?? Date.now();

  if (parsed.values.help || !command) {
    (parsed.values.help ? deps.out : deps.err).write(usage);
    return parsed.values.help ? EX.OK : EX.USAGE;
  }
  if (command === 'list') {
    const rows = [['ID', 'LIST', 'AGE', 'FROM', 'SUBJECT', 'REASON']];
    for (const list of lists)
      for (const m of await heldStore(ctx, list.name).list())
        rows.push(
          [
            m.id.slice(0, 16),
            list.name,
            age(now - Date.parse(m.at)),
            m.from ?? '',
            m.subject ?? '',
            m.reason,
          ].map((c) => c.replace(/\s+/g, ' ').slice(0, 40)),
        );
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows)
      deps.out.write(
        `${r
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd()}\n`,
      );
    return EX.OK;
  }
  if (command === 'expire') {
    for (const list of lists) {
      const report = await expireHeld(ctx, list, now);
      deps.out.write(
        `${list.name}: ${report.expired.length} expired, ${report.pruned} old decisions pruned\n`,
      );
    }
    await deps.deliver(noticeMails());
    return EX.OK;
  }
  if (command !== 'approve' && command !== 'reject' && command !== 'discard') {
    deps.err.write(`malist held: unknown command '${command}'\n${usage}`);
    return EX.USAGE;
  }
  if (!id) {
    deps.err.write(`malist held ${command}: which post? (an ID from malist held list)\n`);
    return EX.USAGE;
  }
  for (const list of lists) {
    // Decided posts are looked up too, so a second decision says "already", not "unknown".
    const known = [
      ...(await heldStore(ctx, list.name).list()),
      ...(await doneStore(ctx, list.name).list()),
    ];
    const entry = known.find((m) => m.id === id || m.id.startsWith(id));
    const full = entry?.id ?? id;
    const result = await decide(
      ctx,
      list,
      full,
      command as ModerationAction,
      `cli:${userInfo().username}`,
    );
    if (result.status === 'missing' && !entry) continue;
    if (result.status !== 'done') {
      deps.err.write(`malist held ${command} ${id}: ${result.message}\n`);
      return 1;
    }
    if (command === 'reject' && result.held) {
      const post = releasedMail(result.held.raw, result.held.meta, 'cli');
      await sendListNotice(
        ctx.notices!,
        list,
        {
          kind: 'rejected',
          to: posterOf(post) ?? '',
          about: post,
          answering: post,
          vars: { reason: 'A moderator rejected it.' },
        },
        now,
      );
    }
    await deps.deliver([...(result.release ? [result.release] : []), ...noticeMails()]);
    deps.out.write(`${list.name}: ${result.message}\n`);
    return EX.OK;
  }
  deps.err.write(`malist held ${command}: no held post ${id}${only ? ` in ${only}` : ''}\n`);
  return 1;
}

/** Delivers `mails` with play(): journaled, so a repeat sends nothing twice. */
function deliverWith(
  distributors: Distributor[],
  stateDir: string,
  reactor: Parameters<typeof play>[0]['reactor'],
) {
  return async (mails: ListMail[]): Promise<void> => {
    const queue = [...mails];
    const fetcher = {
      name: 'malist-held',
      async fetch(): Promise<Fetched> {
        const mail = queue.shift();
        if (!mail) throw new NothingMore();
        return { mail, ack: async () => {} };
      },
      async close() {},
    };
    await play({ fetcher, distributor: distributors, reactor, stateDir });
  };
}

export default async function held(argv: string[]): Promise<number> {
  const configDir = (() => {
    const i = argv.findIndex((a) => a === '--config' || a === '-c');
    return i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith('--config='))?.slice(9);
  })();
  const { config, plans } = await openConfig(configDir ? { dir: configDir } : {});
  if (config.problems.length > 0 || !config.main) {
    printProblems(config, process.stderr);
    process.stderr.write(
      'malist held: configuration problems; nothing done (malist check shows them)\n',
    );
    return EX.CONFIG;
  }
  const reactors = buildReactors(plans);
  const pipelines = new Map(plans.lists.map((p) => [p.list.name, p]));
  return runHeld(argv, {
    stateDir: config.main.state_dir,
    lists: config.lists.map((l) => l.settings),
    pipeline: (name) => {
      const plan = pipelines.get(name);
      return plan ? buildList(plan) : undefined;
    },
    deliver: deliverWith(buildDistributors(plans, reactors), config.main.state_dir, reactors),
    out: process.stdout,
    err: process.stderr,
  });
}
