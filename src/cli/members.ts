/**
 * `malist members …`: the member store of a list from a shell (an admin's changes need no
 * confirmation). One address or thousands: every change goes through the members bulk
 * module and the store — one atomic write, the YAML's comments and formatting kept.
 */
import { readFile } from 'node:fs/promises';
import { bounceColumns, type MemberBounceStatus, readBounceStatus } from '../bounces/status.ts';
import type { BounceStore } from '../bounces/store.ts';
import { memberStoreOf } from '../config/build.ts';
import { openConfig, printProblems } from '../config/open.ts';
import { bounceStorageFor } from '../config/storage.ts';
import { normalizeAddress } from '../mail/address.ts';
import {
  applyMemberDiff,
  describeDiff,
  diffJson,
  diffMembers,
  type MemberDiff,
  memberMailbox,
  membersCsv,
  membersText,
  optionWords,
  type ParsedMembers,
  parseMembersFile,
  parseOnOff,
  removalDiff,
  type WantedMember,
} from '../members/bulk.ts';
import { IMPORT_SOURCES, type ImportSource, importMembers } from '../members/import.ts';
import type { Member, MemberPatch, MemberStore } from '../members/store.ts';
import { OPTION_NAMES, parseMemberText } from '../members/store.ts';
import { commandArgs } from './args.ts';
import { EX } from './exit-codes.ts';

export const usage = `usage: malist members <command> LIST [arguments] [options]

commands:
  list LIST [--json]                  members: name, options, bounce standing (score, last, reason)
  show LIST ADDRESS [--json]          one member: options, nomail reason, bounce score, last bounce
  add LIST ADDRESS... [--digest]      add members ("Name <addr>" keeps the name); no confirmation
  add LIST --file F|-                 add the members of a file (or stdin)
  remove LIST ADDRESS... | --file F|- remove members
  set LIST ADDRESS OPTION [on|off]    OPTION: ${OPTION_NAMES.join(', ')}
  sync LIST --file F|- [--dry-run]    make the list exactly the file; prints what changed
  export LIST [--format text|csv]     every member, in a form --file reads back
  import LIST --from mlmmj DIR | mailman3 FILE.csv | mbox FILE [--dry-run | --apply]
                                      add members from another list manager (mbox: a dry run
                                      unless --apply)

A members file: one member a line — "addr", "Name <addr>", either followed by options
(digest, plain, nomail, nomail=user|bounce|admin, notmetoo, moderate); # comments — or CSV
with a header naming address (or email), and name and the options as columns (yes/no).

options:
  --config DIR      the configuration directory (malist.yaml, lists/)
  --list NAME       the list (instead of LIST)
  --file F          a members file; - reads stdin
  --dry-run         show what would change, change nothing
  --json            machine-readable output
  -h, --help        this text
`;

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  list: { type: 'string', short: 'l' },
  digest: { type: 'boolean' },
  file: { type: 'string', short: 'f' },
  'dry-run': { type: 'boolean', short: 'n' },
  apply: { type: 'boolean' },
  json: { type: 'boolean' },
  format: { type: 'string' },
  from: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = {
  digest?: boolean;
  file?: string;
  'dry-run'?: boolean;
  apply?: boolean;
  json?: boolean;
  format?: string;
  from?: string;
};

interface Ctx {
  list: string;
  store: MemberStore;
  /** The list's bounce records (files or PostgreSQL, as `storage:` says), opened when asked. */
  records(): Promise<BounceStore>;
  bounces: Parameters<typeof readBounceStatus>[1];
  values: Values;
  args: string[];
}

/** A usage problem: the message, and the usage exit code. */
class UsageError extends Error {}

function say(text: string) {
  process.stdout.write(text);
}

/** How many arguments a command takes, or a usage error naming the extra ones. */
function expectArgs(ctx: Ctx, min: number, max: number, what: string) {
  if (ctx.args.length > max)
    throw new UsageError(
      `members ${what}: unexpected argument${ctx.args.length - max > 1 ? 's' : ''} ${ctx.args
        .slice(max)
        .map((a) => JSON.stringify(a))
        .join(' ')}`,
    );
  if (ctx.args.length < min) throw new UsageError(`members ${what}: missing argument`);
}

async function readInput(file: string): Promise<string> {
  if (file !== '-') return readFile(file, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A members file read; its problems written to stderr as `FILE:LINE: message`. */
async function readMembersFile(file: string): Promise<ParsedMembers> {
  const parsed = parseMembersFile(await readInput(file));
  const name = file === '-' ? '(stdin)' : file;
  for (const p of parsed.problems) process.stderr.write(`${name}:${p.line}: ${p.message}\n`);
  return parsed;
}

/** The members named on the command line, or a usage error naming the bad one. */
function argMembers(ctx: Ctx): WantedMember[] {
  return ctx.args.map((text) => {
    const parsed = parseMemberText(text);
    if (typeof parsed === 'string') throw new UsageError(`members: ${parsed}; nothing was changed`);
    return { ...parsed, ...(ctx.values.digest ? { digest: true } : {}) };
  });
}

async function showDiff(ctx: Ctx, diff: MemberDiff, dryRun: boolean): Promise<void> {
  if (!dryRun) await applyMemberDiff(ctx.store, diff);
  say(ctx.values.json ? `${JSON.stringify(diffJson(diff, dryRun))}\n` : describeDiff(diff, dryRun));
}

async function add(ctx: Ctx): Promise<number> {
  if (ctx.values.file) {
    expectArgs(ctx, 0, 0, 'add --file');
    const parsed = await readMembersFile(ctx.values.file);
    const wanted = parsed.members.map((m) => (ctx.values.digest ? { ...m, digest: true } : m));
    await showDiff(
      ctx,
      diffMembers(await ctx.store.list(), wanted, 'add'),
      Boolean(ctx.values['dry-run']),
    );
    return parsed.problems.length ? EX.DATAERR : EX.OK;
  }
  expectArgs(ctx, 1, Infinity, 'add');
  const wanted = argMembers(ctx);
  const current = await ctx.store.list();
  const diff = diffMembers(current, wanted, 'add');
  if (!ctx.values['dry-run']) await applyMemberDiff(ctx.store, diff);
  const added = new Set(diff.add.map((m) => normalizeAddress(m.address)));
  for (const m of wanted)
    say(
      `${added.has(normalizeAddress(m.address)) ? (ctx.values['dry-run'] ? 'would add' : 'added') : 'already a member'}: ${memberMailbox(m)}\n`,
    );
  return EX.OK;
}

async function remove(ctx: Ctx): Promise<number> {
  let addresses: string[];
  let problems = 0;
  if (ctx.values.file) {
    expectArgs(ctx, 0, 0, 'remove --file');
    const parsed = await readMembersFile(ctx.values.file);
    addresses = parsed.members.map((m) => m.address);
    problems = parsed.problems.length;
  } else {
    expectArgs(ctx, 1, Infinity, 'remove');
    addresses = argMembers(ctx).map((m) => m.address);
  }
  const diff = removalDiff(await ctx.store.list(), addresses);
  if (ctx.values.file) await showDiff(ctx, diff, Boolean(ctx.values['dry-run']));
  else {
    if (!ctx.values['dry-run']) await applyMemberDiff(ctx.store, diff);
    const gone = new Set(diff.remove.map((m) => normalizeAddress(m.address)));
    for (const a of addresses)
      say(
        `${gone.has(normalizeAddress(a)) ? (ctx.values['dry-run'] ? 'would remove' : 'removed') : 'not a member'}: ${a}\n`,
      );
  }
  return problems ? EX.DATAERR : EX.OK;
}

async function sync(ctx: Ctx): Promise<number> {
  expectArgs(ctx, 0, 0, 'sync');
  if (!ctx.values.file)
    throw new UsageError('members sync: --file F (or --file - for stdin) is required');
  const parsed = await readMembersFile(ctx.values.file);
  if (parsed.problems.length > 0) {
    process.stderr.write(
      `malist members sync: ${parsed.problems.length} line(s) could not be read; nothing was changed (a sync would remove the members on them)\n`,
    );
    return EX.DATAERR;
  }
  await showDiff(
    ctx,
    diffMembers(await ctx.store.list(), parsed.members, 'sync'),
    Boolean(ctx.values['dry-run']),
  );
  return EX.OK;
}

async function set(ctx: Ctx): Promise<number> {
  expectArgs(ctx, 2, 3, 'set');
  const [address, option, onOff = 'on'] = ctx.args as [string, string, string?];
  if (!(OPTION_NAMES as readonly string[]).includes(option))
    throw new UsageError(
      `members set: unknown option '${option}' (options: ${OPTION_NAMES.join(', ')})`,
    );
  const value = parseOnOff(onOff);
  if (value === undefined) throw new UsageError(`members set: expected on or off, got '${onOff}'`);
  const patch: MemberPatch = {
    [option]: value,
    ...(option === 'nomail' && value ? { nomail_reason: 'admin' as const } : {}),
  };
  const done = await ctx.store.update(address, patch);
  say(done ? `${address}: ${option} ${value ? 'on' : 'off'}\n` : `not a member: ${address}\n`);
  return done ? EX.OK : EX.NOUSER;
}

const time = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : undefined);

/** A member and their bounce standing, for `--json`. */
function memberJson(m: Member, b: MemberBounceStatus | undefined) {
  return {
    ...m,
    ...(b
      ? {
          bounces: {
            score: b.score,
            count: b.count,
            last_bounce: time(b.last_bounce),
            reason: b.reason,
            probe_sent: time(b.probe_sent),
            disabled_at: time(b.disabled_at),
          },
        }
      : {}),
  };
}

async function list(ctx: Ctx): Promise<number> {
  expectArgs(ctx, 0, 0, 'list');
  const bounces = await readBounceStatus(await ctx.records(), ctx.bounces);
  const members = await ctx.store.list();
  const standing = (m: Member) => bounces.get(normalizeAddress(m.address));
  if (ctx.values.json) {
    say(`${JSON.stringify(members.map((m) => memberJson(m, standing(m))))}\n`);
    return EX.OK;
  }
  for (const m of members) {
    const flags = [
      ...OPTION_NAMES.filter((o) => m[o]),
      ...(m.nomail && m.nomail_reason ? [`(${m.nomail_reason})`] : []),
    ];
    const columns = [flags.join(' '), bounceColumns(standing(m))].filter(Boolean).join('\t');
    say(`${memberMailbox(m)}${columns ? `\t${columns}` : ''}\n`);
  }
  return EX.OK;
}

const REASON_WORDS = { user: 'the member asked', bounce: 'bounces', admin: 'an admin' };

async function show(ctx: Ctx): Promise<number> {
  expectArgs(ctx, 1, 1, 'show');
  const member = await ctx.store.get(ctx.args[0]!);
  if (!member) {
    process.stderr.write(`malist members: not a member of ${ctx.list}: ${ctx.args[0]}\n`);
    return EX.NOUSER;
  }
  const b = (await readBounceStatus(await ctx.records(), ctx.bounces)).get(
    normalizeAddress(member.address),
  );
  if (ctx.values.json) {
    say(`${JSON.stringify(memberJson(member, b))}\n`);
    return EX.OK;
  }
  const lines = [
    `address: ${member.address}`,
    ...(member.name ? [`name: ${member.name}`] : []),
    `options: ${optionWords(member).join(' ') || '(none)'}`,
    ...(member.nomail
      ? [
          `nomail: set by ${REASON_WORDS[member.nomail_reason ?? 'user']}${b?.disabled_at ? ` on ${time(b.disabled_at)}` : ''}`,
        ]
      : []),
    `bounce score: ${b ? `${b.score} (${b.count} bounce${b.count === 1 ? '' : 's'} counted)` : '0 (no bounces)'}`,
    ...(b?.last_bounce
      ? [
          `last bounce: ${time(b.last_bounce)}${b.reason ? ` ${b.reason.replace(/\s+/g, ' ')}` : ''}`,
        ]
      : []),
    ...(b?.probe_sent ? [`probe sent: ${time(b.probe_sent)}`] : []),
  ];
  say(`${lines.join('\n')}\n`);
  return EX.OK;
}

async function exportMembers(ctx: Ctx): Promise<number> {
  expectArgs(ctx, 0, 0, 'export');
  const format = ctx.values.format ?? 'text';
  if (format !== 'text' && format !== 'csv')
    throw new UsageError(`members export: --format is text or csv, not '${format}'`);
  const members = await ctx.store.list();
  say(format === 'csv' ? membersCsv(members) : membersText(members));
  return EX.OK;
}

async function importFrom(ctx: Ctx): Promise<number> {
  expectArgs(ctx, 1, 1, 'import');
  const source = ctx.values.from as ImportSource;
  if (!IMPORT_SOURCES.includes(source))
    throw new UsageError(`members import: --from is one of ${IMPORT_SOURCES.join(', ')}`);
  if (ctx.values.apply && ctx.values['dry-run'])
    throw new UsageError('members import: --apply or --dry-run, not both');
  const read = await importMembers(source, ctx.args[0]!);
  for (const [i, p] of read.problems.entries())
    process.stderr.write(`${read.where[i]}: ${p.message}\n`);
  say(`${read.summary}\n`);
  // An archive's senders are not a roster: they join only when the operator says so.
  const dryRun = Boolean(ctx.values['dry-run']) || (source === 'mbox' && !ctx.values.apply);
  await showDiff(ctx, diffMembers(await ctx.store.list(), read.members, 'add'), dryRun);
  if (dryRun && source === 'mbox' && !ctx.values['dry-run'])
    say('(an mbox import is a dry run unless --apply is given)\n');
  return read.problems.length ? EX.DATAERR : EX.OK;
}

const COMMANDS: Record<string, (ctx: Ctx) => Promise<number>> = {
  list,
  show,
  add,
  remove,
  set,
  sync,
  export: exportMembers,
  import: importFrom,
};

export default async function members(argv: string[]): Promise<number> {
  const parsed = commandArgs('members', argv, OPTIONS, usage, process.stderr);
  if (!parsed) return EX.USAGE;
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    process.stdout.write(usage);
    return values.help ? EX.OK : EX.USAGE;
  }
  const run = COMMANDS[command];
  if (!run) {
    process.stderr.write(`malist members: unknown command '${command}'\n${usage}`);
    return EX.USAGE;
  }
  const listName = values.list ?? rest.shift();
  const { config, plans } = await openConfig(values.config ? { dir: values.config } : {});
  if (config.problems.length > 0) {
    printProblems(config, process.stderr);
    return EX.CONFIG;
  }
  const list = config.lists.find((l) => l.name === listName);
  if (!list) {
    process.stderr.write(
      `malist members: ${listName ? `no list '${listName}'` : 'name a list'}: ${config.lists.map((l) => l.name).join(', ') || '(none)'}\n`,
    );
    return EX.USAGE;
  }
  const ctx: Ctx = {
    list: list.name,
    store: memberStoreOf(plans, list.name)!,
    records: async () => (await bounceStorageFor(config.main!)).records(list.name),
    bounces: list.settings.bounces,
    values,
    args: rest,
  };
  try {
    return await run(ctx);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`malist ${error.message}\n`);
      return EX.USAGE;
    }
    const code = (error as NodeJS.ErrnoException).code;
    process.stderr.write(`malist members: ${(error as Error).message}\n`);
    return code === 'ENOENT' || code === 'EACCES' ? EX.NOINPUT : EX.DATAERR;
  }
}
