/**
 * `malist trace --list NAME --member ADDRESS [--message-id ID | --since 2d] [--json]`:
 * why did (or didn't) a member get a post? Read-only: the facts come from each store's own
 * read functions (trace-facts.ts), the answer from `assembleTrace` (moderation/trace.ts),
 * and this file prints it for a moderator (one screen) or a script (--json).
 */

import { openConfig, printProblems } from '../config/open.ts';
import { buildRuntime } from '../config/runtime.ts';
import { describeError } from '../errors.ts';
import { addressProblem } from '../mail/address.ts';
import { answerText, assembleTrace, type PostTrace, type Trace } from '../moderation/trace.ts';
import type { Queue } from '../queue/queue.ts';
import type { Distributor } from '../types.ts';
import { commandArgs } from './args.ts';
import { EX } from './exit-codes.ts';
import { gatherTraceFacts } from './trace-facts.ts';

export const usage = `usage: malist trace --list NAME --member ADDRESS [--message-id ID | --since AGE] [options]

Why did (or didn't) a member get a post? For each post: when and where it was fetched,
whether it was held, rejected or discarded and why, whether the member was a recipient
(and if not: nomail, digest, notmetoo, not a member), what the server answered for her,
when, after how many tries, the next try, the dead letter, and her bounce score.

options:
  --config DIR        the configuration directory (malist.yaml, lists/)
  --list NAME         the list
  --member ADDRESS    the member (or former member) asked about
  --message-id ID     the post with this Message-ID (with or without <>)
  --since AGE         the posts of the last AGE: 30m, 12h, 2d, 1w, or a date (2026-12-01)
  --last N            without --message-id or --since: the last N posts (default 5)
  --json              one JSON object (the same facts) instead of the text
  -h, --help          this text
`;

/** `2d`, `12h`, `30m`, `45s`, `1w`, or a date/time: the time (ms) it names; undefined if neither. */
export function parseSince(value: string, now: number): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([smhdw])$/.exec(value.trim());
  if (m) {
    const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86_400e3, w: 604_800e3 }[m[2] as 's'];
    return now - Number(m[1]) * unit;
  }
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : at;
}

const when = (at?: string) =>
  at ? at.replace('T', ' ').replace(/\.\d{3}Z$/, 'Z') : ''.padEnd('2026-01-01 00:00:00Z'.length);

/** The member's lines: the verdict, then each answer of the server in time order. */
function memberLines(m: PostTrace['member'], member: string): string[] {
  const verdict = m.verdict.replaceAll('-', ' ').toUpperCase();
  if (!m.answers?.length) return [`  ${member}: ${verdict}: ${m.why}`];
  const tries = m.tries === undefined ? '' : ` (${m.tries} ${m.tries === 1 ? 'try' : 'tries'})`;
  const lines = [`  ${member}: ${verdict}${tries}`];
  for (const a of m.answers) {
    const label = a.kind === 'deferred' ? 'deferred' : m.verdict;
    lines.push(`    ${when(a.at)}  ${label}: ${answerText(a) || 'no answer'}`);
  }
  if (m.next_attempt) lines.push(`    next try at ${when(m.next_attempt)}`);
  if (m.dead_letter) lines.push(`    dead letter: ${m.dead_letter}`);
  return lines;
}

function postLines(post: PostTrace, member: string): string[] {
  const lines = [
    `<${post.message_id ?? '(no Message-ID)'}>${post.subject ? `  "${post.subject}"` : ''}`,
  ];
  if (post.from || post.origin)
    lines.push(
      `  from ${post.from ?? '?'}${post.origin ? `, fetched from ${post.origin.slice(0, 80)}` : ''}`,
    );
  for (const e of post.events)
    lines.push(`  ${when(e.at)}  ${e.what}${e.detail ? `: ${e.detail}` : ''}`);
  return [...lines, ...memberLines(post.member, member)];
}

/** The text `malist trace` prints. */
export function formatTrace(trace: Trace): string {
  const ms = trace.membership;
  const standing = ms.member
    ? `member${ms.options.length ? ` (${ms.options.join(', ')}${ms.nomail_reason ? `; nomail set by ${ms.nomail_reason}` : ''})` : ''}`
    : 'not a member now';
  const b = trace.bounce;
  const bounce = b
    ? `; bounce score ${b.score} (${b.count} counted${b.last_bounce ? `, last ${new Date(b.last_bounce).toISOString().slice(0, 10)}` : ''}${b.reason ? `: ${b.reason.slice(0, 80)}` : ''})`
    : '';
  const head = `${trace.member} on ${trace.list}: ${standing}${bounce}`;
  if (trace.posts.length === 0) return `${head}\nno posts found\n`;
  return `${[head, ...trace.posts.flatMap((p) => ['', ...postLines(p, trace.member)])].join('\n')}\n`;
}

function parse(argv: string[]) {
  return commandArgs(
    'trace',
    argv,
    {
      config: { type: 'string', short: 'c' },
      list: { type: 'string', short: 'l' },
      member: { type: 'string', short: 'm' },
      'message-id': { type: 'string' },
      since: { type: 'string' },
      last: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    usage,
    process.stderr,
  );
}

/** The problem with the command line, or undefined. */
function argProblem(values: NonNullable<ReturnType<typeof parse>>['values'], now: number) {
  if (!values.list) return '--list NAME is required';
  if (!values.member) return '--member ADDRESS is required';
  if (addressProblem(values.member))
    return `--member ${values.member}: ${addressProblem(values.member)}`;
  if (values['message-id'] !== undefined && values.since !== undefined)
    return '--message-id and --since exclude each other';
  if (values.since !== undefined && parseSince(values.since, now) === undefined)
    return `--since ${values.since}: expected an age (30m, 12h, 2d, 1w) or a date (2026-12-01)`;
  if (values.last !== undefined && !/^[1-9]\d*$/.test(values.last))
    return `--last ${values.last}: expected a positive number`;
  return undefined;
}

export default async function trace(argv: string[]): Promise<number> {
  const parsed = parse(argv);
  if (!parsed) return EX.USAGE;
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(usage);
    return EX.OK;
  }
  const now = Date.now();
  const problem =
    positionals.length > 0 ? `unexpected ${positionals.join(' ')}` : argProblem(values, now);
  if (problem) {
    process.stderr.write(`malist trace: ${problem}\n${usage}`);
    return EX.USAGE;
  }
  const { config, plans } = await openConfig(values.config ? { dir: values.config } : {});
  if (config.problems.length > 0 || !config.main) {
    printProblems(config, process.stderr);
    process.stderr.write('malist trace: configuration problems (malist check shows them)\n');
    return EX.CONFIG;
  }
  const list = config.lists.find((l) => l.name === values.list);
  if (!list) {
    process.stderr.write(
      `malist trace: no list named ${values.list}; lists here: ${config.lists.map((l) => l.name).join(', ') || '(none)'}\n`,
    );
    return EX.USAGE;
  }
  const runtime = await buildRuntime(config, plans);
  try {
    const queues = runtime.outlets.flatMap((d) => {
      const queue = (d as Distributor & { queue?: Queue }).queue;
      return queue ? [queue] : [];
    });
    // A queue in the database checks its tables first; a spool is only read (trace makes
    // no folders).
    for (const q of queues) if (q.store.kind === 'postgres') await q.store.ready();
    const archive = runtime.archive();
    const facts = await gatherTraceFacts(
      {
        stateDir: runtime.stateDir,
        bounces: runtime.bounces.records(list.name),
        journal: runtime.journal,
        ...(runtime.moderation.storage ? { held: runtime.moderation.storage } : {}),
        digest: runtime.listState.digest,
        list,
        member: values.member!,
        store: runtime.memberStore(list.name),
        spools: queues.map((q) => q.store),
        ...(values['message-id'] ? { messageId: values['message-id'] } : {}),
        ...(values.since ? { since: parseSince(values.since, now)! } : {}),
        last: Number(values.last ?? 5),
        archived: async (id) => archive?.post(list.name, id.replace(/^<|>$/g, '')),
      },
      now,
    );
    const result = assembleTrace(facts);
    process.stdout.write(
      values.json ? `${JSON.stringify(result, null, 2)}\n` : formatTrace(result),
    );
    if (values['message-id'] && result.posts.length === 0) {
      process.stderr.write(
        `malist trace: no post with Message-ID ${values['message-id']} on ${list.name} in the journal, the held posts or the queue\n`,
      );
      return EX.NOINPUT;
    }
    return EX.OK;
  } catch (error) {
    process.stderr.write(`malist trace: ${describeError(error)}\n`);
    return EX.SOFTWARE;
  } finally {
    await runtime.close();
  }
}
