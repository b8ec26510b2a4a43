/**
 * `malist held list | approve ID | reject ID | discard ID | expire`: the moderation queue
 * from a shell. A decision here is the same durable, once-only decision a moderator's
 * mail makes (src/moderation): an approved post runs the list's pipeline as approved and is
 * delivered through the configured distributors under the journal, so running the command
 * twice, or after the moderator already answered by mail, sends nothing twice.
 *
 * Mail addressed to none of the lists (`no_match: hold`) is held under `_default` and shown
 * as "(no list)". There is no list to approve it for, nor one to answer its sender from:
 * `approve` hands it to the lists again (after the configuration was fixed, say), where it
 * meets the rules of the list it names, as if it had just arrived; `discard` drops it;
 * `reject` is refused (use discard).
 */
import { userInfo } from 'node:os';
import { openConfig, printProblems } from '../config/open.ts';
import { buildRuntime } from '../config/runtime.ts';
import type { ListSettings } from '../list/settings.ts';
import { createListMail } from '../mail/list-mail.ts';
import { decide } from '../moderation/decide.ts';
import { expireHeld } from '../moderation/expire.ts';
import {
  doneStore,
  findHeld,
  heldStore,
  type ModerationAction,
  type ModerationContext,
  releasedMail,
} from '../moderation/held.ts';
import type { Notice } from '../notices/compose.ts';
import { noticeOutlet, posterOf, sendListNotice } from '../notices/list-notices.ts';
import type { PlaySummary } from '../play.ts';
import type { StoredMeta } from '../state/mail-store.ts';
import type { NoticeCounts } from '../state/memos.ts';
import type { ListMail, Processor } from '../types.ts';
import { commandArgs } from './args.ts';
import { EX } from './exit-codes.ts';
import { formatHeldPost, formatHeldTable, type HeldRow, heldPost, heldRow } from './held-view.ts';

export const usage = `usage: malist held <command> [ID] [options]

commands:
  list              held posts: ID, list, age, sender, subject, reason (cut cells end in …)
  show ID           one held post: reason, size, its header block, the first body lines
  approve ID        release the post to the list (it skips the rules that held it)
  reject ID         refuse the post; the poster is told why
  discard ID        drop the post silently
  expire            drop posts held longer than held_expiry_days (posters told)

options:
  --config DIR      the configuration directory (malist.yaml, lists/)
  --list NAME       only this list
  --wide            list: whole IDs, senders, subjects and reasons
  --lines N         show: body lines shown (default 20)
  --json            list, show: one JSON document on stdout:
                    list: { "held": [ { id, list, held_at, age_seconds, from, subject,
                      message_id, reason, unit } ] }
                    show: the same fields and size, decided, headers [lines],
                      body_lines [lines], more_lines
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
  /**
   * Hands mail to the lists as if it had just arrived (their router): an approved post
   * that was addressed to no list. Returns where it went, e.g. "red: distributed".
   */
  reroute?(mails: ListMail[]): Promise<string>;
  out: { write(text: string): unknown };
  err: { write(text: string): unknown };
  now?: () => number;
  /** Told of each decision (webhooks). */
  onDecision?: ModerationContext['onDecision'];
  /** Where held posts and decisions live (`storage:`). @default the files under stateDir */
  storage?: ModerationContext['storage'];
  /** The daily notice counts (`storage:`). @default the files under stateDir */
  noticeCounts?: NoticeCounts;
}

/** Where play() keeps mail addressed to none of the lists. */
const NO_LIST: ListSettings = { name: '_default', address: 'no-list@invalid', members: [] };
const NO_LIST_LABEL = '(no list)';

/** A no-list post's approval "pipeline": the post as it came, without the approval. */
const asArrived: Processor = {
  name: 'as-arrived',
  async process(mail) {
    const { ml_approved: _approved, ...fresh } = mail;
    return fresh;
  },
};

/** `held show ID`: the post (held or decided) an ID or unique prefix names. */
async function showHeld(
  ctx: ModerationContext,
  lists: ListSettings[],
  id: string,
  lines: number,
  json: boolean,
  now: number,
  deps: Pick<HeldDeps, 'out' | 'err'>,
): Promise<number> {
  const found: Array<{ list: ListSettings; meta: StoredMeta }> = [];
  for (const list of lists)
    for (const store of [heldStore(ctx, list.name), doneStore(ctx, list.name)])
      for (const meta of await store.list())
        if (meta.id === id || meta.id.startsWith(id)) found.push({ list, meta });
  const ids = new Set(found.map((f) => f.meta.id));
  if (ids.size !== 1) {
    deps.err.write(
      `malist held show ${id}: ${ids.size === 0 ? 'no held post with this ID' : `${ids.size} posts match; give more of the ID`}\n`,
    );
    return ids.size === 0 ? 1 : EX.USAGE;
  }
  const { list, meta } = found[0]!;
  const held = await findHeld(ctx, list.name, meta.id);
  if (!held) {
    deps.err.write(`malist held show ${id}: it was decided and removed meanwhile\n`);
    return 1;
  }
  const label = list === NO_LIST ? NO_LIST_LABEL : list.name;
  const post = heldPost(heldRow(held.meta, label, now), held.raw, held.decided, lines);
  deps.out.write(json ? `${JSON.stringify(post, null, 2)}\n` : formatHeldPost(post));
  return EX.OK;
}

/** The command itself, against `deps` (tested without a configuration). */
export async function runHeld(argv: string[], deps: HeldDeps): Promise<number> {
  const parsed = commandArgs(
    'held',
    argv,
    {
      config: { type: 'string', short: 'c' },
      list: { type: 'string' },
      json: { type: 'boolean' },
      wide: { type: 'boolean' },
      lines: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    usage,
    deps.err,
  );
  if (!parsed) return EX.USAGE;
  const [command, id] = parsed.positionals;
  const only = parsed.values.list as string | undefined;
  const lists = [...deps.lists, ...(deps.reroute ? [NO_LIST] : [])].filter(
    (l) => only === undefined || l.name === only,
  );
  if (only !== undefined && lists.length === 0) {
    deps.err.write(`malist held: no list named ${only}\n`);
    return EX.USAGE;
  }
  const notices: Notice[] = [];
  const ctx: ModerationContext = {
    stateDir: deps.stateDir,
    pipeline: (name) => (name === NO_LIST.name ? asArrived : deps.pipeline(name)),
    notices: noticeOutlet({
      lists: {},
      state_dir: deps.stateDir,
      ...(deps.noticeCounts ? { notice_counts: deps.noticeCounts } : {}),
      send: async (n) => void notices.push(n),
    }),
    now: deps.now,
    ...(deps.onDecision ? { onDecision: deps.onDecision } : {}),
    ...(deps.storage ? { storage: deps.storage } : {}),
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
    const rows: HeldRow[] = [];
    for (const list of lists)
      for (const m of await heldStore(ctx, list.name).list())
        rows.push(heldRow(m, list === NO_LIST ? NO_LIST_LABEL : list.name, now));
    if (parsed.values.json) deps.out.write(`${JSON.stringify({ held: rows }, null, 2)}\n`);
    else deps.out.write(`${formatHeldTable(rows, parsed.values.wide === true)}\n`);
    return EX.OK;
  }
  if (command === 'show') {
    const lines = Number(parsed.values.lines ?? 20);
    if (!id || !Number.isInteger(lines) || lines < 0) {
      deps.err.write(`malist held show: which post? (an ID from malist held list; --lines N)\n`);
      return EX.USAGE;
    }
    return showHeld(ctx, lists, id, lines, parsed.values.json === true, now, deps);
  }
  if (command === 'expire') {
    for (const list of lists.filter((l) => l !== NO_LIST)) {
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
    if (list === NO_LIST && command === 'reject' && entry) {
      deps.err.write(
        `malist held reject ${id}: it was addressed to no list, so there is no list to answer from; use discard\n`,
      );
      return 1;
    }
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
    if (list === NO_LIST) {
      const went = result.release && deps.reroute ? await deps.reroute([result.release]) : '';
      deps.out.write(
        `${NO_LIST_LABEL}: ${result.message.replace(' and sent to the list', '')}${went ? `; handed to the lists again: ${went}` : ''}\n`,
      );
      return EX.OK;
    }
    await deps.deliver([...(result.release ? [result.release] : []), ...noticeMails()]);
    deps.out.write(`${list.name}: ${result.message}\n`);
    return EX.OK;
  }
  deps.err.write(`malist held ${command}: no held post ${id}${only ? ` in ${only}` : ''}\n`);
  return 1;
}

/** "red: distributed, blue: held" from a summary's per-list counts. */
function whereItWent(summary: PlaySummary): string {
  return Object.entries(summary.perList)
    .map(([list, c]) => {
      const outcome = (['distributed', 'held', 'rejected', 'discarded'] as const).find(
        (o) => c[o] > 0,
      );
      return `${list === NO_LIST.name ? NO_LIST_LABEL : list}: ${outcome ?? 'nothing'}`;
    })
    .join(', ');
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
  const stateDir = config.main.state_dir;
  const runtime = await buildRuntime(config, plans);
  const byName = new Map(runtime.lists.map((l) => [l.list.name, l]));
  try {
    return await runHeld(argv, {
      stateDir,
      lists: runtime.lists.map((l) => l.list),
      pipeline: (name) => byName.get(name),
      deliver: async (mails) => void (await runtime.deliver(mails)),
      reroute: async (mails) => whereItWent(await runtime.deliver(mails, runtime.processor())),
      out: process.stdout,
      err: process.stderr,
      ...(runtime.moderation.onDecision ? { onDecision: runtime.moderation.onDecision } : {}),
      ...(runtime.moderation.storage ? { storage: runtime.moderation.storage } : {}),
      noticeCounts: runtime.listState.noticeCounts,
    });
  } finally {
    await runtime.close();
  }
}
