/**
 * Members in bulk: a CSV file read into members, the difference between a list's members
 * and that file, and the difference applied through a MemberStore. The web's import (and
 * the API's bulk endpoint) preview the difference before anything changes.
 *
 * NOTE for the lead: issue 17 builds the bulk module (members files and CSV, diff, apply,
 * `malist members sync`); it had not landed when the web needed it, so this is the
 * smallest part the web uses — `parseMembersCsv`, `diffMembers`, `applyMemberDiff` — to be
 * reconciled with issue 17's module.
 *
 * CSV: a header row naming `address` (or `email`), and optionally `name` and the options
 * (`digest`, `plain`, `nomail`, `notmetoo`, `moderate`: yes/true/1/on/x); without a header
 * the columns are address, name. Bad rows are reported by line and left out.
 */
import { parse } from 'csv-parse/sync';
import { normalizeAddress } from '../mail/address.ts';
import { type Member, type MemberStore, OPTION_NAMES, tidyMember } from './store.ts';

export interface CsvProblem {
  line: number;
  message: string;
}

export interface ParsedMembers {
  members: Member[];
  problems: CsvProblem[];
}

const TRUE = /^(y|yes|true|1|on|x)$/i;
const ADDRESS = /^[^\s@<>,;"]+@[^\s@<>,;"]+\.[^\s@<>,;"]+$/;

function columnsOf(first: string[]): Record<string, number> | undefined {
  const names = first.map((h) => h.trim().toLowerCase());
  const address = names.findIndex((n) => n === 'address' || n === 'email' || n === 'e-mail');
  if (address < 0) return undefined;
  const columns: Record<string, number> = { address };
  for (const [i, n] of names.entries())
    if (n === 'name' || (OPTION_NAMES as readonly string[]).includes(n)) columns[n] = i;
  return columns;
}

/** Members of a CSV text; rows that are not members are reported, not guessed at. */
export function parseMembersCsv(text: string): ParsedMembers {
  let rows: string[][];
  try {
    rows = parse(text.replace(/^\uFEFF/, ''), {
      relax_column_count: true,
      skip_empty_lines: true,
      trim: true,
      comment: '#',
    }) as string[][];
  } catch (error) {
    const line = (error as { lines?: number }).lines ?? 0;
    return { members: [], problems: [{ line, message: (error as Error).message }] };
  }
  const header = rows[0] ? columnsOf(rows[0]) : undefined;
  const columns = header ?? { address: 0, name: 1 };
  const members: Member[] = [];
  const problems: CsvProblem[] = [];
  const seen = new Set<string>();
  rows.slice(header ? 1 : 0).forEach((row, i) => {
    const line = i + (header ? 2 : 1);
    const address = (row[columns.address!] ?? '').trim();
    const normal = normalizeAddress(address);
    if (!ADDRESS.test(address)) {
      problems.push({ line, message: `not a mail address: '${address.slice(0, 80)}'` });
      return;
    }
    if (seen.has(normal)) {
      problems.push({ line, message: `${address} is already on an earlier line` });
      return;
    }
    seen.add(normal);
    const member: Member = { address };
    const name = columns.name !== undefined ? (row[columns.name] ?? '').trim() : '';
    if (name) member.name = name;
    for (const option of OPTION_NAMES) {
      const at = columns[option];
      if (at !== undefined && TRUE.test((row[at] ?? '').trim())) member[option] = true;
    }
    if (member.nomail) member.nomail_reason = 'admin';
    members.push(tidyMember(member));
  });
  return { members, problems };
}

export interface MemberDiff {
  add: Member[];
  remove: Member[];
  /** Members whose name or options the file changes. */
  change: Array<{ before: Member; after: Member }>;
  unchanged: number;
}

function sameMember(a: Member, b: Member): boolean {
  return JSON.stringify(tidyMember(a)) === JSON.stringify(tidyMember(b));
}

/**
 * What `wanted` changes in `current`. `add`: new members join, the others stay as they
 * are; `sync`: the list becomes the file (members not in it leave, options follow it).
 */
export function diffMembers(current: Member[], wanted: Member[], mode: 'add' | 'sync'): MemberDiff {
  const now = new Map(current.map((m) => [normalizeAddress(m.address), m]));
  const diff: MemberDiff = { add: [], remove: [], change: [], unchanged: 0 };
  const inFile = new Set<string>();
  for (const member of wanted) {
    const key = normalizeAddress(member.address);
    inFile.add(key);
    const before = now.get(key);
    if (!before) diff.add.push(member);
    else if (mode === 'sync' && !sameMember(before, { ...member, address: before.address }))
      diff.change.push({ before, after: { ...member, address: before.address } });
    else diff.unchanged++;
  }
  if (mode === 'sync')
    for (const [key, member] of now) if (!inFile.has(key)) diff.remove.push(member);
  return diff;
}

export interface AppliedDiff {
  added: number;
  removed: number;
  changed: number;
}

/** Carries out `diff` through `store` (each change idempotent, so a retry is safe). */
export async function applyMemberDiff(store: MemberStore, diff: MemberDiff): Promise<AppliedDiff> {
  const done: AppliedDiff = { added: 0, removed: 0, changed: 0 };
  if (store.addMany) done.added = (await store.addMany(diff.add)).length;
  else for (const member of diff.add) if ((await store.add(member)) === 'added') done.added++;
  for (const member of diff.remove) if (await store.remove(member.address)) done.removed++;
  for (const { after } of diff.change) {
    const patch: Record<string, unknown> = { name: after.name };
    for (const option of OPTION_NAMES) patch[option] = Boolean(after[option]);
    if (after.nomail_reason) patch.nomail_reason = after.nomail_reason;
    if (await store.update(after.address, patch)) done.changed++;
  }
  return done;
}
