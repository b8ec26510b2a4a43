/**
 * `malist check [--config DIR] [--json]` — validates malist.yaml and every list file (and
 * every unit they name), prints each list with its members count and pipeline, and exits 78
 * on any problem, each printed as file:line:col key: what was expected (fix: …). Warns (exit
 * code unchanged) of deprecated spellings and when a list's DKIM or ARC key does not match
 * its published DNS TXT record. `--json`: the same as one JSON document on stdout.
 */
import { parseArgs } from 'node:util';
import { keyPins } from '../auth/key-pins.ts';
import { installationResolver } from '../config/authentication.ts';
import { directoryProblems } from '../config/directories.ts';
import { openConfig, printProblems, printWarnings } from '../config/open.ts';
import { type ConfigProblem, sortProblems } from '../config/problem.ts';
import { publishedKeyWarnings } from '../config/signing.ts';
import { type FooterOptions, isPersonal } from '../processors/footer.ts';
import { isPersonalUrl } from '../processors/list-headers.ts';
import { EX } from './exit-codes.ts';

/** From how many members written inline `check` suggests a members file (~40 ms of CPU a mail). */
const INLINE_MEMBERS_NOTE = 1000;

const USAGE = 'usage: malist check [--config DIR] [--json]';

/** The `type:` of each unit written at `spec` (one or a list), also when it did not check out. */
function writtenTypes(spec: unknown): string[] {
  const specs = spec === undefined ? [] : Array.isArray(spec) ? spec : [spec];
  return specs.map((s) =>
    typeof s === 'string'
      ? s
      : s && typeof s === 'object' && typeof (s as { type?: unknown }).type === 'string'
        ? (s as { type: string }).type
        : '?',
  );
}

/** A problem or warning as `--json` writes it: where, the key, what, the fix. */
function entry(p: ConfigProblem) {
  return {
    file: p.file,
    line: p.line,
    col: p.col,
    key: p.key,
    message: p.message,
    ...(p.fix ? { fix: p.fix } : {}),
  };
}

/** A DNS warning line (`file:line: warning: …; publish: …`) as a `--json` entry. */
function dnsEntry(line: string) {
  const m = /^(.*?):(\d+): warning: (.*?)(?:; publish: (.*))?$/s.exec(line);
  return m
    ? {
        file: m[1]!,
        line: Number(m[2]),
        col: 0,
        key: '',
        message: m[3]!,
        ...(m[4] ? { fix: `publish: ${m[4]}` } : {}),
      }
    : { file: '', line: 0, col: 0, key: '', message: line };
}

export default async function check(argv: string[]): Promise<number> {
  let values: { config?: string; json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    process.stderr.write(`malist check: ${(error as Error).message}\n${USAGE}\n`);
    return EX.USAGE;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return EX.OK;
  }
  const { config, plans } = await openConfig(values.config ? { dir: values.config } : {});
  const dirs = await directoryProblems(config, plans);
  config.problems.push(...dirs.problems);
  config.warnings.push(...dirs.warnings, ...config.deprecated);
  sortProblems(config.warnings);
  sortProblems(config.problems);
  // What the file says, also when a unit did not check out (its problem says why).
  const raw = (config.source.value ?? {}) as Record<string, unknown>;
  const sources = writtenTypes(raw.fetch);
  const distribute = writtenTypes(raw.distribute);
  const reactors =
    raw.reactors === undefined ? plans.reactors.map((p) => p.type) : writtenTypes(raw.reactors);
  const personalises = distribute.includes('queue');
  const lists = plans.lists.map(({ list, units, memberStore }) => {
    const s = list.settings;
    const explicit = (list.source.value as { member_store?: unknown }).member_store !== undefined;
    const notes: string[] = [];
    // Only the queue makes each member's copy (src/config/personalise.ts).
    const footer = units.find((u) => u.type === 'footer');
    if (!personalises && footer && isPersonal(s, footer.options as FooterOptions))
      notes.push(
        'the footer names the member, which only the queue distributor personalises: with these distributors posts go out without it',
      );
    else if (!personalises && isPersonalUrl(s.unsubscribe_url))
      notes.push(
        'unsubscribe_url is personal, which only the queue distributor personalises: with these distributors List-Unsubscribe carries the mailto: address only',
      );
    const inline = (list.source.value as { members?: unknown }).members;
    if (Array.isArray(inline) && inline.length >= INLINE_MEMBERS_NOTE)
      notes.push(
        `${inline.length} members are written in the list's file, which the first mail after each edit parses and every mail reads (10,000: ~50 ms of CPU a mail more than a members file, ~0.4 s for that first mail); a members file is read line by line: malist members export ${list.name} --format text > lists/${list.name}.members, then members_file: ${list.name}.members in place of members:`,
      );
    return {
      name: list.name,
      file: list.source.file,
      address: s.address,
      display_name: s.display_name ?? list.name,
      members: list.memberCount,
      members_from: list.membersFrom,
      posting: s.posting ?? 'members',
      ...(memberStore && explicit ? { member_store: memberStore.type } : {}),
      deliver_to: list.deliver_to,
      pipeline: units.map((u) => u.type),
      notes,
    };
  });
  const dns = await publishedKeyWarnings(
    plans,
    installationResolver(config.main),
    config.main ? keyPins(config.main.state_dir) : undefined,
  );
  const failed = config.problems.length > 0;

  if (values.json) {
    const doc = {
      config: config.embedded ? null : config.source.file,
      dir: config.dir,
      ok: !failed,
      errors: config.problems.map(entry),
      warnings: [...config.warnings.map(entry), ...dns.map(dnsEntry)],
      sources,
      distribute,
      reactors,
      lists,
    };
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    return failed ? EX.CONFIG : EX.OK;
  }

  const out = process.stdout;
  out.write(
    config.embedded
      ? `no malist.yaml in ${config.dir}: the embedded default applies\n`
      : `${config.source.file}: ${sources.length} source(s) [${sources.join(', ')}], distribute [${distribute.join(', ')}], reactors [${reactors.join(', ')}]\n`,
  );
  for (const l of lists) {
    const store = l.member_store ? `, member store ${l.member_store}` : '';
    const extra = `${store}${l.deliver_to.length ? `, deliver_to ${l.deliver_to.join(', ')}` : ''}`;
    out.write(
      `${l.name}: ${l.address} "${l.display_name}", ${l.members} member${l.members === 1 ? '' : 's'} (${l.members_from}), posting ${l.posting}${extra}\n` +
        `  pipeline: ${l.pipeline.join(' → ')}\n`,
    );
    for (const note of l.notes) out.write(`  note: ${note}\n`);
  }
  printWarnings(config, process.stderr);
  for (const warning of dns) process.stderr.write(`${warning}\n`);
  if (failed) {
    printProblems(config, process.stderr);
    process.stderr.write(
      `malist check: ${config.problems.length} problem${config.problems.length === 1 ? '' : 's'}\n`,
    );
    return EX.CONFIG;
  }
  out.write(`ok: ${lists.length} list${lists.length === 1 ? '' : 's'}, no problems\n`);
  return EX.OK;
}
