/**
 * Members brought over from another list manager, read into the bulk module's shape
 * (members, problems by file and line) and applied by the caller like any members file:
 *
 * - **mlmmj**: a list directory. `subscribers.d/`, `digesters.d/` and `nomailsubs.d/` hold
 *   one address a line in files named by the address's first letter (what mlmmj-sub
 *   writes); `control/listaddress` names the list. A digester becomes a `digest` member, a
 *   nomail subscriber a `nomail` one (reason `user`: they chose it).
 * - **mailman3**: a member export (CSV). Postorius's "Download subscribers" writes one
 *   column, the address, with no header; a file with a header may use Mailman's REST
 *   member fields: `email`, `display_name`, `delivery_mode` (`regular`, `mime_digests`,
 *   `plaintext_digests`, `summary_digests`), `delivery_status` (`enabled`, `by_user`,
 *   `by_bounces`, `by_moderator`), `moderation_action` (`hold` → moderate) and `role`
 *   (only `member` rows are members). `mailman members --output` lines (`Name <addr>`)
 *   are read too.
 * - **mbox**: the `From:` of every message of an archive, with the name it carried, each
 *   address once (the first name seen kept).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { normalizeAddress, parseAddressList } from '../mail/address.ts';
import { isFromLine } from '../mail/mbox.ts';
import {
  type CsvProblem,
  type ParsedMembers,
  parseMembersLines,
  type WantedMember,
} from './bulk.ts';
import { type Member, OPTION_NAMES, parseMemberText } from './store.ts';

export type ImportSource = 'mlmmj' | 'mailman3' | 'mbox';
export const IMPORT_SOURCES: readonly ImportSource[] = ['mlmmj', 'mailman3', 'mbox'];

/** What an import read: members, problems (`line` 0: the whole file), and where it came from. */
export interface ImportedMembers extends ParsedMembers {
  /** Where each problem is (`file:line`), in the order of `problems`. */
  where: string[];
  /** A line about the source (`mlmmj list t@list.example.test: 3 subscribers, 1 digester`). */
  summary: string;
}

/** Members one a line, first seen wins; later repeats merge their options in. */
class Collector {
  readonly members = new Map<string, WantedMember>();
  readonly problems: CsvProblem[] = [];
  readonly where: string[] = [];
  problem(file: string, line: number, message: string) {
    this.problems.push({ line, message });
    this.where.push(line > 0 ? `${file}:${line}` : file);
  }
  add(member: WantedMember) {
    const key = normalizeAddress(member.address);
    const had = this.members.get(key);
    if (!had) {
      this.members.set(key, { ...member, stated: [...OPTION_NAMES] });
      return;
    }
    for (const option of OPTION_NAMES) if (member[option]) had[option] = true;
    if (member.nomail_reason && !had.nomail_reason) had.nomail_reason = member.nomail_reason;
    if (!had.name && member.name) had.name = member.name;
  }
  result(summary: string): ImportedMembers {
    return {
      members: [...this.members.values()],
      problems: this.problems,
      where: this.where,
      summary,
    };
  }
}

async function filesIn(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((f) => !f.startsWith('.')).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

const MLMMJ_SETS: Array<[string, Partial<Member>]> = [
  ['subscribers.d', {}],
  ['digesters.d', { digest: true }],
  ['nomailsubs.d', { nomail: true, nomail_reason: 'user' }],
];

/** The members of an mlmmj list directory. */
export async function importMlmmj(dir: string): Promise<ImportedMembers> {
  const listAddress = await readFile(join(dir, 'control', 'listaddress'), 'utf8').catch(() => '');
  if (!listAddress && (await filesIn(join(dir, 'subscribers.d'))).length === 0)
    throw new Error(
      `${dir} is not an mlmmj list directory (no control/listaddress, no subscribers.d/)`,
    );
  const out = new Collector();
  const counts: string[] = [];
  for (const [sub, options] of MLMMJ_SETS) {
    let n = 0;
    for (const name of await filesIn(join(dir, sub))) {
      const file = join(dir, sub, name);
      const text = await readFile(file, 'utf8');
      text.split(/\r?\n/).forEach((line, i) => {
        const address = line.trim();
        if (!address) return;
        const parsed = parseMemberText(address);
        if (typeof parsed === 'string') out.problem(file, i + 1, `not a mail address: ${parsed}`);
        else {
          out.add({ ...parsed, ...options });
          n++;
        }
      });
    }
    counts.push(`${n} in ${sub}`);
  }
  const address = listAddress.split(/\r?\n/)[0]?.trim() || '(no control/listaddress)';
  return out.result(`mlmmj list ${address}: ${counts.join(', ')}`);
}

const DIGEST_MODES = new Set(['mime_digests', 'plaintext_digests', 'summary_digests']);
const NOMAIL_STATUS: Record<string, Member['nomail_reason']> = {
  by_user: 'user',
  by_bounces: 'bounce',
  by_moderator: 'admin',
  unknown: 'admin',
};

/** One row of a Mailman 3 export with a header, as a member or what is wrong. */
function mailmanRow(row: Record<string, string>): WantedMember | string | undefined {
  const role = (row.role ?? 'member').trim().toLowerCase();
  if (role && role !== 'member') return undefined;
  const parsed = parseMemberText((row.email ?? row.address ?? '').trim());
  if (typeof parsed === 'string') return `not a mail address: ${parsed}`;
  const member: WantedMember = { ...parsed };
  const name = (row.display_name ?? row.name ?? '').trim();
  if (name) member.name = name;
  const mode = (row.delivery_mode ?? '').trim().toLowerCase();
  if (DIGEST_MODES.has(mode)) member.digest = true;
  if (mode === 'plaintext_digests') member.plain = true;
  const status = (row.delivery_status ?? '').trim().toLowerCase();
  if (status && status !== 'enabled') {
    member.nomail = true;
    member.nomail_reason = NOMAIL_STATUS[status] ?? 'admin';
  }
  if ((row.moderation_action ?? '').trim().toLowerCase() === 'hold') member.moderate = true;
  return member;
}

/** The members of a Mailman 3 member export (CSV, or `Name <addr>` lines). */
export async function importMailman3(file: string): Promise<ImportedMembers> {
  const text = (await readFile(file, 'utf8')).replace(/^\uFEFF/, '');
  const out = new Collector();
  const first = text.split(/\r?\n/, 1)[0]!.toLowerCase();
  if (!/(^|,)\s*"?(email|address)"?\s*(,|$)/.test(first)) {
    // Postorius: one address a row, no header (or `mailman members` output).
    const lines = parseMembersLines(
      text.replace(/^"?([^",\r\n]*)"?,"?([^"\r\n]*)"?$/gm, (_, a: string, n: string) =>
        n.trim() ? `${n.trim()} <${a.trim()}>` : a,
      ),
    );
    for (const m of lines.members) out.add(m);
    for (const p of lines.problems) out.problem(file, p.line, p.message);
    return out.result(`Mailman 3 export ${file}: ${out.members.size} members`);
  }
  const rows = parse(text, {
    columns: (h: string[]) => h.map((c) => c.trim().toLowerCase()),
    skip_empty_lines: true,
    relax_column_count: true,
    info: true,
  }) as unknown as Array<{ record: Record<string, string>; info: { lines: number } }>;
  let skipped = 0;
  for (const { record, info } of rows) {
    const got = mailmanRow(record);
    if (got === undefined) skipped++;
    else if (typeof got === 'string') out.problem(file, info.lines, got);
    else out.add(got);
  }
  const others = skipped ? `, ${skipped} owner/moderator/non-member rows left out` : '';
  return out.result(`Mailman 3 export ${file}: ${out.members.size} members${others}`);
}

/** The From: field of one message's header lines (unfolded), or undefined. */
function fromField(headers: string[]): string | undefined {
  let value: string | undefined;
  for (const line of headers) {
    if (value !== undefined && /^[ \t]/.test(line)) value += ` ${line.trim()}`;
    else if (value !== undefined) return value;
    else if (/^from:/i.test(line)) value = line.slice(5).trim();
  }
  return value;
}

/** Pipermail's `alice at example.org` back into an address. */
function unmangle(value: string): string {
  return value.replace(/(\S+) at (\S+\.\S+)/g, '$1@$2');
}

/** The senders of an mbox archive: each From: address once, with its name. */
export async function importMbox(file: string): Promise<ImportedMembers> {
  const text = await readFile(file, 'utf8');
  const out = new Collector();
  const lines = text.split(/\r?\n/);
  let messages = 0;
  for (let i = 0; i < lines.length; i++) {
    if (!isFromLine(lines[i]!)) continue;
    messages++;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end] !== '') end++;
    const raw = fromField(lines.slice(start, end));
    i = end;
    const mailbox = raw === undefined ? undefined : parseAddressList(unmangle(raw))[0];
    const parsed = mailbox ? parseMemberText(mailbox.address) : 'no From: field';
    if (typeof parsed === 'string') {
      out.problem(
        file,
        start,
        `message ${messages}: ${mailbox ? `From: not a mail address: ${parsed}` : parsed}`,
      );
      continue;
    }
    const clean = mailbox!.name.replace(/^'(.*)'$/, '$1').trim();
    out.add({ address: parsed.address, ...(clean && !clean.includes('@') ? { name: clean } : {}) });
  }
  if (messages === 0) throw new Error(`${file}: no messages (not an mbox: no "From " lines)`);
  return out.result(`mbox ${file}: ${messages} messages, ${out.members.size} senders`);
}

/** Reads `path` as `source`. */
export function importMembers(source: ImportSource, path: string): Promise<ImportedMembers> {
  if (source === 'mlmmj') return importMlmmj(path);
  if (source === 'mailman3') return importMailman3(path);
  return importMbox(path);
}
