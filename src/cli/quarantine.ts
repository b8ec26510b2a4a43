/**
 * `malist quarantine list | show ID | release ID | drop ID`: mail a unit crashed on, kept
 * in `STATE/quarantine/` with the reason (play() puts it there so one poison message
 * cannot block a mailbox). Once the cause is fixed (a bug, a bad custom unit), `release`
 * runs the mail again through the lists, as it was handed over the first time (`receive
 * --list NAME` mail to that list), under a key of its own: the journal, which says
 * "quarantined" for the original, does not skip it, and releasing twice sends nothing
 * twice. The entry goes once the mail is handled; a mail that crashes again is quarantined
 * again, under a new ID. Storage errors never land here: they leave the mail at its source.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { openConfig, printProblems } from '../config/open.ts';
import { buildRuntime, type ListRuntime } from '../config/runtime.ts';
import { NothingMore } from '../errors.ts';
import { createListMail } from '../mail/list-mail.ts';
import { play } from '../play.ts';
import { MailStore, type StoredMeta } from '../state/mail-store.ts';
import type { Fetched } from '../types.ts';
import { commandArgs } from './args.ts';
import { EX } from './exit-codes.ts';

export const usage = `usage: malist quarantine <command> [ID] [options]

commands:
  list              quarantined mail: ID, age, list, sender, subject, what failed
  show ID           why it is here, and its header (--raw: the whole mail, bytes as received)
  release ID        run it through the lists again (once the cause is fixed)
  drop ID           delete it

options:
  --config DIR      the configuration directory (malist.yaml, lists/)
  --raw             with show: write the mail as received to standard output
  -h, --help        this text
`;

type Out = { write(text: string | Buffer): unknown };

function age(ms: number): string {
  const h = Math.max(0, Math.round(ms / 3_600_000));
  return h < 48 ? `${h}h` : `${Math.round(h / 24)}d`;
}

/** Printable on one terminal line: control characters shown as `\xNN`. */
function printable(text: string, max = 60): string {
  return text
    .replace(/\s+/g, ' ')
    .replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    .slice(0, max);
}

function table(entries: StoredMeta[], now: number): string {
  const rows = [['ID', 'AGE', 'LIST', 'FROM', 'SUBJECT', 'REASON']];
  for (const m of entries)
    rows.push(
      [
        m.id.slice(0, 16),
        age(now - Date.parse(m.at)),
        m.list ?? String(m.extra?.scope ?? '').replace(/^list:/, ''),
        m.from ?? '',
        m.subject ?? '',
        m.reason,
      ].map((c) => printable(c, 40)),
    );
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map(
      (r) =>
        `${r
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd()}\n`,
    )
    .join('');
}

/** The header of a stored mail as text lines, each shown printable. */
function headerLines(raw: Buffer): string {
  const mail = createListMail(raw, { fetcher: 'quarantine', id: 'show' });
  return mail.header.fields
    .map((f) => `  ${printable(f.raw.toString('utf8').replace(/\r?\n$/, ''), 300)}\n`)
    .join('');
}

/** Runs a quarantined mail again; the entry goes once it is handled. Returns what happened. */
async function release(runtime: ListRuntime, store: MailStore, meta: StoredMeta, stateDir: string) {
  const { raw } = await store.read(meta.id);
  const first = createListMail(raw, meta.origin);
  const key = createHash('sha256').update(`${first.key}:quarantine-release`).digest('hex');
  const scope = typeof meta.extra?.scope === 'string' ? meta.extra.scope : undefined;
  const listName = scope?.startsWith('list:') ? scope.slice(5) : undefined;
  const one = listName ? runtime.list(listName) : undefined;
  let handed = false;
  const fetcher = {
    name: 'quarantine',
    async fetch(): Promise<Fetched> {
      if (handed) throw new NothingMore();
      handed = true;
      return { mail: { ...first, key }, ack: () => store.remove(meta.id) };
    },
    async close() {},
  };
  return play({
    fetcher,
    processor: one ? runtime.processor([one], one) : runtime.processor(),
    ...(scope ? { scope } : {}),
    distributor: runtime.distributors,
    reactor: runtime.reactors,
    stateDir,
    journal: runtime.journal,
    ...(runtime.moderation.storage ? { held: runtime.moderation.storage } : {}),
  });
}

function describeSummary(summary: Awaited<ReturnType<typeof release>>): string {
  const outcomes = Object.entries(summary.perList).map(([list, c]) => {
    const outcome = (['distributed', 'held', 'rejected', 'discarded'] as const).find(
      (o) => c[o] > 0,
    );
    return `${list}: ${outcome ?? 'nothing'}`;
  });
  if (summary.quarantined > 0) outcomes.push('it failed again and is quarantined again');
  if (summary.failed > 0) outcomes.push('it could not be handled now; it stays in the quarantine');
  return outcomes.join(', ') || 'nothing to do';
}

export default async function quarantine(argv: string[]): Promise<number> {
  const out: Out = process.stdout;
  const err: Out = process.stderr;
  const parsed = commandArgs(
    'quarantine',
    argv,
    {
      config: { type: 'string', short: 'c' },
      raw: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    usage,
    err,
  );
  if (!parsed) return EX.USAGE;
  const [command, id] = parsed.positionals;
  if (parsed.values.help || !command) {
    (parsed.values.help ? out : err).write(usage);
    return parsed.values.help ? EX.OK : EX.USAGE;
  }
  if (!['list', 'show', 'release', 'drop'].includes(command)) {
    err.write(`malist quarantine: unknown command '${command}'\n${usage}`);
    return EX.USAGE;
  }
  const configDir = parsed.values.config as string | undefined;
  const { config, plans } = await openConfig(configDir ? { dir: configDir } : {});
  if (!config.main) {
    printProblems(config, process.stderr);
    return EX.CONFIG;
  }
  const stateDir = config.main.state_dir;
  const store = new MailStore(join(stateDir, 'quarantine'));
  const entries = await store.list();
  if (command === 'list') {
    out.write(table(entries, Date.now()));
    return EX.OK;
  }
  if (!id) {
    err.write(`malist quarantine ${command}: which mail? (an ID from malist quarantine list)\n`);
    return EX.USAGE;
  }
  const matches = entries.filter((m) => m.id === id || m.id.startsWith(id));
  if (matches.length !== 1) {
    err.write(
      `malist quarantine ${command} ${id}: ${matches.length === 0 ? 'no such mail in the quarantine' : 'more than one mail starts with that ID; give more of it'}\n`,
    );
    return 1;
  }
  const meta = matches[0]!;
  if (command === 'show') {
    const { raw } = await store.read(meta.id);
    if (parsed.values.raw) {
      out.write(raw);
      return EX.OK;
    }
    out.write(
      `id:      ${meta.id}\nat:      ${meta.at}\nunit:    ${meta.unit}\nreason:  ${printable(meta.reason, 1000)}\n` +
        `origin:  ${printable(`${meta.origin.fetcher} ${meta.origin.id}`)}\nheader:\n${headerLines(raw)}`,
    );
    return EX.OK;
  }
  if (command === 'drop') {
    await store.remove(meta.id);
    out.write(`${meta.id.slice(0, 16)}: dropped\n`);
    return EX.OK;
  }
  if (config.problems.length > 0) {
    printProblems(config, process.stderr);
    err.write('malist quarantine release: configuration problems; nothing done\n');
    return EX.CONFIG;
  }
  const runtime = await buildRuntime(config, plans);
  try {
    const summary = await release(runtime, store, meta, stateDir);
    out.write(`${meta.id.slice(0, 16)}: released; ${describeSummary(summary)}\n`);
    return summary.failed > 0 ? EX.TEMPFAIL : EX.OK;
  } finally {
    await runtime.close();
  }
}
