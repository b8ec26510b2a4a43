/**
 * A list's members as the loader reads them: the list file's own `members:` and its
 * `members_file` (one member a line, or YAML). Each entry is read exactly as the member
 * stores read it (`parseMemberText`, `parseMemberLine`, the one address grammar), so what
 * the loader counts is what the envelope delivers to. A bad entry is a warning naming its
 * file and line — never a reason to stop the list, its valid members, or another list.
 */
import { readFile } from 'node:fs/promises';
import { OPTION_NAMES, parseMemberText } from '../members/store.ts';
import { parseMemberLine, splitMemberLine } from '../members/text-file.ts';
import type { CheckCache } from './check-cache.ts';
import type { ConfigProblem } from './problem.ts';
import { displayPath, parseYaml, problemAt, type YamlSource } from './source.ts';

const FIX =
  'subscribe a plain address (name@example.com) or "Name <name@example.com>"; quotes, #, (, ), @ and blanks are not allowed in the part before the @';

function isMemberOption(word: string): boolean {
  return (
    (OPTION_NAMES as readonly string[]).includes(word.toLowerCase()) ||
    /^nomail=(user|bounce|admin)$/i.test(word)
  );
}

/**
 * What the loader read from a list's member entries: every member is counted, and its
 * address kept only when posts read this static list (`keep`). A list whose members a
 * member store reads at each post keeps none: a 100,000-member list held them twice in
 * `malist serve`, once here and once in the store's snapshot (`npm run bench -- --web`).
 */
export interface MemberTally {
  keep: boolean;
  count: number;
  addresses: string[];
}

export function memberTally(keep: boolean): MemberTally {
  return { keep, count: 0, addresses: [] };
}

function tallyAdd(tally: MemberTally, address: string): void {
  tally.count++;
  if (tally.keep) tally.addresses.push(address);
}

/** The address of one YAML member entry (a string or a mapping with `address:`), or what is wrong. */
function entryAddress(entry: unknown): string | { problem: string } {
  if (typeof entry === 'string') {
    const parsed = parseMemberText(entry);
    return typeof parsed === 'string' ? { problem: parsed } : parsed.address;
  }
  const address = (entry as { address?: unknown } | null)?.address;
  if (entry && typeof entry === 'object' && typeof address === 'string') {
    const parsed = parseMemberText(address);
    return typeof parsed === 'string' ? { problem: parsed } : parsed.address;
  }
  return { problem: 'expected an address or a mapping with address:' };
}

/** The members of a YAML sequence, into `tally`; a warning for each entry that is not one. */
export function yamlMemberAddresses(
  entries: readonly unknown[],
  source: YamlSource,
  path: PropertyKey[],
  warnings: ConfigProblem[],
  tally: MemberTally,
): void {
  entries.forEach((entry, i) => {
    const got = entryAddress(entry);
    if (typeof got === 'string') {
      tallyAdd(tally, got);
      return;
    }
    warnings.push(
      problemAt(source, [...path, i], {
        file: source.file,
        key: [...path, i].join('.'),
        message: `not a member, skipped: ${got.problem}`,
        fix: FIX,
      }),
    );
  });
}

/**
 * Each line of `text` (split at \n, a \r before it dropped, as `split(/\r?\n/)` does)
 * with its number, one at a time: a 100,000-line members file is walked without an array
 * of its lines (`npm run bench -- --web`: the start-up's high-water mark is what the
 * server's RSS keeps).
 */
function eachLine(text: string, visit: (line: string, number: number) => void): void {
  let start = 0;
  for (let number = 1; start <= text.length; number++) {
    const nl = text.indexOf('\n', start);
    const end = nl < 0 ? text.length : nl;
    visit(text.slice(start, end > start && text[end - 1] === '\r' ? end - 1 : end), number);
    if (nl < 0) break;
    start = nl + 1;
  }
}

/** The members of a text members file (the text-file store's format), one a line. */
function textMemberAddresses(
  file: string,
  text: string,
  warnings: ConfigProblem[],
  tally: MemberTally,
): void {
  eachLine(text, (raw, number) => {
    const split = splitMemberLine(raw);
    if (!split) return;
    const line = raw.replace(/#.*$/, '').trim();
    const member = parseMemberLine(raw);
    const options = split.words;
    if (member) tallyAdd(tally, member.address);
    if (member && options.every(isMemberOption)) return;
    // A misspelt option does not cost the member their mail: the store reads the address
    // and ignores the word (parseMemberLine), and the warning says just that.
    const unknown = options.filter((o) => !isMemberOption(o));
    const message = member
      ? `unknown option ${unknown.map((o) => `'${o.slice(0, 30)}'`).join(', ')} ignored: ${member.address} stays a member without it`
      : `not a member line, skipped: '${line.slice(0, 60)}' is not an address`;
    warnings.push({
      file: displayPath(file),
      line: number,
      col: 1,
      key: '',
      message,
      fix: `one address (or Name <address>) a line, optionally followed by ${OPTION_NAMES.join(' ')} or nomail=user|bounce|admin; # for comments`,
    });
  });
}

/**
 * The members of `file` (text, or YAML when it ends in .yaml/.yml), into `tally`. A file
 * that cannot be read or parsed is a problem of the list (undefined); bad entries are
 * warnings. A YAML file is parsed through `cache` (config/check-cache.ts) and returned as
 * read: the list's member store starts from it (config/build.ts).
 */
export async function readMembersFile(
  file: string,
  source: YamlSource,
  problems: ConfigProblem[],
  warnings: ConfigProblem[],
  tally: MemberTally,
  cache?: CheckCache,
): Promise<{ yaml?: YamlSource } | undefined> {
  const problem = (message: string, fix: string) =>
    problemAt(source, ['members_file'], { file: source.file, key: 'members_file', message, fix });
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    problems.push(
      problem(
        `cannot read the members file ${displayPath(file)}: ${(error as NodeJS.ErrnoException).code ?? error}`,
        'create it with one address a line (# starts a comment), or fix the path (relative to the list file)',
      ),
    );
    return undefined;
  }
  if (!/\.ya?ml$/.test(file)) {
    textMemberAddresses(file, text, warnings, tally);
    return {};
  }
  const members = parseYaml(text, file, cache);
  const value = members.value as unknown;
  // An empty file is an empty list (the YAML store creates entries on the first add).
  if (members.problems.length === 0 && (value === null || value === undefined))
    return { yaml: members };
  const list = Array.isArray(value) ? value : (value as { members?: unknown } | null)?.members;
  if (members.problems.length > 0 || !Array.isArray(list)) {
    const p = members.problems[0];
    problems.push(
      problem(
        p
          ? `${p.file}:${p.line}:${p.col} ${p.message}`
          : `${displayPath(file)}: expected a sequence of members`,
        'a YAML sequence of members (or a mapping with members:), as in lists/',
      ),
    );
    return undefined;
  }
  yamlMemberAddresses(list, members, Array.isArray(value) ? [] : ['members'], warnings, tally);
  return { yaml: members };
}
