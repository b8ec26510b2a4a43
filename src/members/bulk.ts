/**
 * Members in bulk — the one module `malist members add|remove|sync|export|import`, the
 * web's import page and the API's bulk endpoint share: a members file read into members
 * (one a line, `Name <addr>` lines, or CSV with a header), the difference between a list's
 * members and that file, the difference applied through a MemberStore in one write, and
 * members written out again (CSV or text) in a form this module reads back.
 *
 * Bad lines are reported by line number and left out, never guessed at. A file says only
 * what it states: a name or an option a line (or a CSV column) does not mention is left as
 * the member has it, so syncing a plain address list never turns off a member's digest or
 * the nomail the bounce handler set.
 */
import { parse } from 'csv-parse/sync';
import { normalizeAddress } from '../mail/address.ts';
import {
  type Member,
  type MemberStore,
  type NomailReason,
  OPTION_NAMES,
  type OptionName,
  parseMemberText,
  tidyMember,
} from './store.ts';

export interface CsvProblem {
  line: number;
  message: string;
}

/** What a line of a file can state about a member besides the address. */
export type StatedField = 'name' | OptionName;

/** A member as a file states it: `stated` lists what the file said (absent: everything). */
export type WantedMember = Member & { stated?: StatedField[] };

export interface ParsedMembers {
  members: WantedMember[];
  problems: CsvProblem[];
}

const YES = /^(y|yes|true|1|on|x)$/i;
const NO = /^(n|no|false|0|off|)$/i;
const REASONS: readonly NomailReason[] = ['user', 'bounce', 'admin'];

/**
 * `on|off` (also yes/no, true/false, 1/0) as a boolean; undefined for anything else, so
 * `set nomail maybe` is refused rather than read as on.
 */
export function parseOnOff(value: string): boolean | undefined {
  const text = value.trim();
  if (text === '') return undefined;
  if (YES.test(text) && text.toLowerCase() !== 'x') return true;
  if (NO.test(text)) return false;
  return undefined;
}

/** Keeps the first of each address; a repeat is a problem on its line. */
function deduper(problems: CsvProblem[]) {
  const seen = new Map<string, number>();
  return (member: Member, line: number): boolean => {
    const normal = normalizeAddress(member.address);
    const first = seen.get(normal);
    if (first !== undefined) {
      problems.push({ line, message: `${member.address} is already on line ${first}` });
      return false;
    }
    seen.set(normal, line);
    return true;
  };
}

function columnsOf(first: string[]): Record<string, number> | undefined {
  const names = first.map((h) =>
    h
      .trim()
      .toLowerCase()
      .replace(/[\s-]+/g, '_'),
  );
  const address = names.findIndex((n) => n === 'address' || n === 'email' || n === 'e_mail');
  if (address < 0) return undefined;
  const columns: Record<string, number> = { address };
  for (const [i, n] of names.entries()) {
    if (n === 'name' || n === 'display_name') columns.name = i;
    else if (n === 'nomail_reason' || (OPTION_NAMES as readonly string[]).includes(n))
      columns[n] = i;
  }
  return columns;
}

/** One CSV row as a member, or what is wrong with it. */
function csvMember(row: string[], columns: Record<string, number>): WantedMember | string {
  const address = (row[columns.address!] ?? '').trim();
  const parsed = parseMemberText(address);
  if (typeof parsed === 'string') return `not a mail address: ${parsed}`;
  const member: WantedMember = { address: parsed.address, stated: [] };
  if (columns.name !== undefined) {
    const name = (row[columns.name] ?? '').trim() || parsed.name;
    if (name) member.name = name;
    member.stated!.push('name');
  } else if (parsed.name) {
    member.name = parsed.name;
    member.stated!.push('name');
  }
  for (const option of OPTION_NAMES) {
    const at = columns[option];
    if (at === undefined) continue;
    const cell = (row[at] ?? '').trim();
    const on = cell.toLowerCase() === 'x' || parseOnOff(cell);
    if (on === undefined && cell !== '')
      return `${option}: expected yes or no (on/off, true/false, 1/0, x), got '${cell.slice(0, 40)}'`;
    if (on) member[option] = true;
    member.stated!.push(option);
  }
  if (member.nomail) {
    const reason = columns.nomail_reason !== undefined ? row[columns.nomail_reason]?.trim() : '';
    if (reason && !(REASONS as string[]).includes(reason))
      return `nomail_reason: expected user, bounce or admin, got '${reason.slice(0, 40)}'`;
    member.nomail_reason = (reason as NomailReason) || 'admin';
  }
  return member;
}

type CsvRow = { record: string[]; info: { lines: number } };

const CSV_OPTIONS = {
  relax_column_count: true,
  skip_empty_lines: true,
  trim: true,
  comment: '#',
  info: true,
} as const;

/**
 * The rows of a CSV text simple enough to need no CSV parser — printable ASCII and tabs, no
 * quote, no `#`, every line ending in \n (or every one in \r\n) — exactly as csv-parse reads
 * it with CSV_OPTIONS (fields split at commas and trimmed, blank lines skipped, each row
 * with its line number); undefined for any other text, which csv-parse reads. A 10,000-line
 * roster is read several times faster.
 */
export function simpleCsvRows(text: string): CsvRow[] | undefined {
  if (!/^[\t\n\r\x20\x21\x24-\x7e]*$/.test(text)) return undefined;
  if (text.includes('\r') && /\r(?!\n)|(?<!\r)\n/.test(text)) return undefined;
  const rows: CsvRow[] = [];
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') continue;
    rows.push({ record: line.split(',').map((field) => field.trim()), info: { lines: i + 1 } });
  }
  return rows;
}

/**
 * Members of a CSV text; rows that are not members are reported, not guessed at. A header
 * names `address` (or `email`), optionally `name` (or `display_name`), the options
 * (`digest`, `plain`, `nomail`, `notmetoo`, `moderate`: yes/no, on/off, true/false, 1/0, x)
 * and `nomail_reason`; without a header the columns are address, name.
 */
export function parseMembersCsv(text: string): ParsedMembers {
  let rows: CsvRow[];
  const csv = text.replace(/^\uFEFF/, '');
  try {
    rows = simpleCsvRows(csv) ?? (parse(csv, CSV_OPTIONS) as unknown as CsvRow[]);
  } catch (error) {
    const line = (error as { lines?: number }).lines ?? 0;
    return { members: [], problems: [{ line, message: (error as Error).message }] };
  }
  const header = rows[0] ? columnsOf(rows[0].record) : undefined;
  const columns = header ?? { address: 0, name: 1 };
  const members: WantedMember[] = [];
  const problems: CsvProblem[] = [];
  const keep = deduper(problems);
  for (const { record, info } of rows.slice(header ? 1 : 0)) {
    const got = csvMember(record, columns);
    if (typeof got === 'string') problems.push({ line: info.lines, message: got });
    else if (keep(got, info.lines)) members.push(got);
  }
  return { members, problems };
}

/** One option word of a members line (`digest`, `nomail=bounce`, …) applied, or false. */
function applyWord(member: WantedMember, word: string): boolean {
  const [name = '', value] = word.toLowerCase().split('=');
  if (!(OPTION_NAMES as readonly string[]).includes(name)) return false;
  if (value !== undefined && (name !== 'nomail' || !(REASONS as string[]).includes(value)))
    return false;
  member[name as OptionName] = true;
  if (name === 'nomail') member.nomail_reason = (value as NomailReason | undefined) ?? 'admin';
  return true;
}

/**
 * One line of a members file: `addr`, `Name <addr>`, either followed by option words
 * (`digest`, `plain`, `nomail`, `nomail=user|bounce|admin`, `notmetoo`, `moderate`); a `#`
 * comment after blanks. Options a line names are stated (the others are off); a line with
 * no option word states none of them.
 */
export function parseMemberEntry(line: string): WantedMember | string {
  const text = line.replace(/(^|\s)#.*$/, '').trim();
  const close = text.lastIndexOf('>');
  const head = close >= 0 ? text.slice(0, close + 1) : (text.split(/\s+/)[0] ?? '');
  const words = text.slice(head.length).trim().split(/\s+/).filter(Boolean);
  const parsed = parseMemberText(head);
  if (typeof parsed === 'string') return `not a mail address: ${parsed}`;
  const member: WantedMember = { ...parsed, stated: parsed.name ? ['name'] : [] };
  for (const word of words)
    if (!applyWord(member, word))
      return `unknown option '${word.slice(0, 40)}' (options: ${OPTION_NAMES.join(', ')}, nomail=user|bounce|admin)`;
  if (words.length > 0) member.stated!.push(...OPTION_NAMES);
  return member;
}

/** A members file of one member a line (blank lines and `#` comments skipped). */
export function parseMembersLines(text: string): ParsedMembers {
  const members: WantedMember[] = [];
  const problems: CsvProblem[] = [];
  const keep = deduper(problems);
  text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .forEach((raw, i) => {
      if (!raw.replace(/(^|\s)#.*$/, '').trim()) return;
      const got = parseMemberEntry(raw);
      if (typeof got === 'string') problems.push({ line: i + 1, message: got });
      else if (keep(got, i + 1)) members.push(got);
    });
  return { members, problems };
}

/** A members file in whichever form it is: CSV when its first line is a header naming `address` or `email`. */
export function parseMembersFile(text: string): ParsedMembers {
  const first = text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
  const header = /(^|[,;\t])\s*"?(address|e-?mail)"?\s*($|[,;\t])/i;
  return header.test(first) ? parseMembersCsv(text) : parseMembersLines(text);
}

export interface MemberDiff {
  add: Member[];
  remove: Member[];
  /** Members whose name or options the file changes. */
  change: Array<{ before: Member; after: Member }>;
  unchanged: number;
}

/** The same stored member (address as written, name, options, nomail reason). */
function sameMember(a: Member, b: Member): boolean {
  if (a.address.trim() !== b.address.trim() || (a.name || '') !== (b.name || '')) return false;
  for (const option of OPTION_NAMES) if (Boolean(a[option]) !== Boolean(b[option])) return false;
  return !a.nomail || a.nomail_reason === b.nomail_reason;
}

/** `before` with what `wanted` states about it. */
function merged(before: Member, wanted: WantedMember): Member {
  const { stated } = wanted;
  if (stated?.length === 0) return before;
  const says = (field: StatedField) => stated === undefined || stated.includes(field);
  const next: Member = { ...before };
  if (says('name')) next.name = wanted.name;
  for (const option of OPTION_NAMES) if (says(option)) next[option] = wanted[option];
  if (says('nomail') && wanted.nomail)
    next.nomail_reason = before.nomail ? before.nomail_reason : wanted.nomail_reason;
  return tidyMember(next);
}

/**
 * What `wanted` changes in `current`. `add`: new members join, the others stay as they
 * are; `sync`: the list becomes the file (members not in it leave; what the file states
 * about a member — name, options — follows it).
 */
export function diffMembers(
  current: Member[],
  wanted: WantedMember[],
  mode: 'add' | 'sync',
): MemberDiff {
  const now = new Map(current.map((m) => [normalizeAddress(m.address), m]));
  const diff: MemberDiff = { add: [], remove: [], change: [], unchanged: 0 };
  const inFile = new Set<string>();
  for (const member of wanted) {
    const key = normalizeAddress(member.address);
    inFile.add(key);
    const before = now.get(key);
    if (!before) {
      diff.add.push(tidyMember(member));
      continue;
    }
    const after = mode === 'sync' ? merged(before, member) : before;
    if (!sameMember(before, after)) diff.change.push({ before, after });
    else diff.unchanged++;
  }
  if (mode === 'sync')
    for (const [key, member] of now) if (!inFile.has(key)) diff.remove.push(member);
  return diff;
}

/** The difference of removing `addresses` (those not members are counted as unchanged). */
export function removalDiff(current: Member[], addresses: string[]): MemberDiff {
  const now = new Map(current.map((m) => [normalizeAddress(m.address), m]));
  const remove = new Map<string, Member>();
  for (const address of addresses) {
    const member = now.get(normalizeAddress(address));
    if (member) remove.set(normalizeAddress(address), member);
  }
  return { add: [], remove: [...remove.values()], change: [], unchanged: 0 };
}

export interface AppliedDiff {
  added: number;
  removed: number;
  changed: number;
}

/**
 * Carries out `diff` through `store`: in one write under one lock when the store can
 * (`applyMany`), else change by change (each idempotent, so a retry is safe).
 */
export async function applyMemberDiff(store: MemberStore, diff: MemberDiff): Promise<AppliedDiff> {
  const changes = { add: diff.add, remove: diff.remove, change: diff.change.map((c) => c.after) };
  if (store.applyMany) return store.applyMany(changes);
  const done: AppliedDiff = { added: 0, removed: 0, changed: 0 };
  if (store.addMany) done.added = (await store.addMany(diff.add)).length;
  else for (const member of diff.add) if ((await store.add(member)) === 'added') done.added++;
  for (const member of diff.remove) if (await store.remove(member.address)) done.removed++;
  for (const after of changes.change)
    if (await store.update(after.address, patchOf(after))) done.changed++;
  return done;
}

/** The patch that makes a member equal `after` (options not on are turned off). */
export function patchOf(after: Member): Record<string, unknown> {
  const patch: Record<string, unknown> = { name: after.name };
  for (const option of OPTION_NAMES) patch[option] = Boolean(after[option]);
  if (after.nomail_reason) patch.nomail_reason = after.nomail_reason;
  return patch;
}

/** The options of a member as words (`digest nomail=bounce`), as a members line writes them. */
export function optionWords(member: Member): string[] {
  return OPTION_NAMES.filter((o) => member[o]).map((o) =>
    o === 'nomail' && member.nomail_reason ? `nomail=${member.nomail_reason}` : o,
  );
}

/** A member as text: `Name <addr>` (the name quoted when it must be) or `addr`. */
export function memberMailbox(member: Member): string {
  if (!member.name) return member.address;
  const name = member.name.replace(/[\r\n]+/g, ' ');
  const quoted = /^[^"\\<>(),;:@[\]]+$/.test(name) ? name : `"${name.replace(/(["\\])/g, '\\$1')}"`;
  return `${quoted} <${member.address}>`;
}

/** What changed for one member, in words: `name 'A' -> 'B', digest on`. */
function changeWords(before: Member, after: Member): string {
  const words: string[] = [];
  if ((before.name ?? '') !== (after.name ?? ''))
    words.push(`name ${JSON.stringify(before.name ?? '')} -> ${JSON.stringify(after.name ?? '')}`);
  for (const option of OPTION_NAMES)
    if (Boolean(before[option]) !== Boolean(after[option]))
      words.push(`${option} ${after[option] ? 'on' : 'off'}`);
  return words.join(', ');
}

/** The difference as an operator reads it: `+ added`, `- removed`, `~ changed: what`, then a count line. */
export function describeDiff(diff: MemberDiff, dryRun: boolean): string {
  const lines = [
    ...diff.add.map(
      (m) => `+ ${memberMailbox(m)}${optionWords(m).length ? ` ${optionWords(m).join(' ')}` : ''}`,
    ),
    ...diff.remove.map((m) => `- ${memberMailbox(m)}`),
    ...diff.change.map(({ before, after }) => `~ ${after.address}: ${changeWords(before, after)}`),
  ];
  const verbs = dryRun
    ? ['would add', 'would remove', 'would change']
    : ['added', 'removed', 'changed'];
  lines.push(
    `${dryRun ? 'dry run: ' : ''}${diff.add.length} ${verbs[0]}, ${diff.remove.length} ${verbs[1]}, ${diff.change.length} ${verbs[2]}, ${diff.unchanged} unchanged`,
  );
  return `${lines.join('\n')}\n`;
}

/** The difference for a script (`--json`). */
export function diffJson(diff: MemberDiff, dryRun: boolean) {
  return {
    dry_run: dryRun,
    add: diff.add.map(tidyMember),
    remove: diff.remove.map((m) => m.address),
    change: diff.change.map(({ before, after }) => ({ before, after })),
    unchanged: diff.unchanged,
  };
}

function csvCell(value: string): string {
  return /[",\r\n]/.test(value) || /^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Members as CSV with a header (what `parseMembersCsv` reads back). */
export function membersCsv(members: readonly Member[]): string {
  const header = ['address', 'name', ...OPTION_NAMES, 'nomail_reason'];
  const rows = members.map((m) =>
    [
      m.address,
      m.name ?? '',
      ...OPTION_NAMES.map((o) => (m[o] ? 'yes' : '')),
      (m.nomail && m.nomail_reason) || '',
    ]
      .map(csvCell)
      .join(','),
  );
  return `${[header.join(','), ...rows].join('\r\n')}\r\n`;
}

/** Members one a line, `Name <addr> options` (what `parseMembersLines` reads back). */
export function membersText(members: readonly Member[]): string {
  return members.map((m) => `${[memberMailbox(m), ...optionWords(m)].join(' ')}\n`).join('');
}
