/**
 * Loads a configuration directory: `malist.yaml` (or the embedded default when there is
 * none) and every `lists/*.yaml`. Collects every problem instead of stopping at the first,
 * each naming file:line:col, the key, what was expected and the fix.
 */
import { access, readdir, readFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { ListSettings } from '../list/settings.ts';
import { normalizeAddress } from '../mail/address.ts';
import { OPTION_NAMES } from '../members/store.ts';
import { EMBEDDED_DEFAULT, EMBEDDED_NAME } from './default.ts';
import { check } from './issues.ts';
import type { ConfigProblem } from './problem.ts';
import { type ListYaml, listSchema, type MainYaml, mainSchema, member } from './schema.ts';
import { resolveOptions } from './secrets.ts';
import { displayPath, parseYaml, readYaml, type YamlSource } from './source.ts';

export const MAIN_FILE = 'malist.yaml';

export interface LoadedList {
  /** The short name: the file's name without .yaml. */
  name: string;
  source: YamlSource;
  /** Settings with defaults applied and members read (what every unit receives). */
  settings: ListSettings;
  /** The pipeline as written (or from defaults); undefined: the default pipeline. */
  pipeline?: ListYaml['pipeline'];
  /** Extra fixed recipients of every post. */
  deliver_to: string[];
  /** Where the members came from, for `malist check`. */
  membersFrom: string;
}

export interface LoadedConfig {
  /** The configuration directory. */
  dir: string;
  /** True when no malist.yaml was found and the embedded default is used. */
  embedded: boolean;
  source: YamlSource;
  /** malist.yaml with paths made absolute and secrets resolved; undefined when unusable. */
  main?: MainYaml & { state_dir: string; lists_dir: string };
  lists: LoadedList[];
  problems: ConfigProblem[];
}

export interface LoadOptions {
  /** The configuration directory. @default the working directory */
  dir?: string;
  /** Where secrets come from. @default process.env */
  env?: NodeJS.ProcessEnv;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

const LIST_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/i;

export async function loadConfig(options: LoadOptions = {}): Promise<LoadedConfig> {
  const dir = resolve(options.dir ?? '.');
  const env = options.env ?? process.env;
  const mainPath = join(dir, MAIN_FILE);
  const embedded = !(await exists(mainPath));
  const source = embedded
    ? { ...parseYaml(EMBEDDED_DEFAULT, join(dir, EMBEDDED_NAME)), file: EMBEDDED_NAME }
    : await readYaml(mainPath);
  const problems: ConfigProblem[] = [...source.problems];
  const config: LoadedConfig = { dir, embedded, source, lists: [], problems };
  if (source.problems.length > 0) return config;

  const resolved = await resolveOptions(source.value, [], { source, baseDir: dir, env }, problems);
  const { data } = collect(check(mainSchema, resolved, source), problems);
  if (!data) return config;
  const main = {
    ...data,
    state_dir: data.state_dir ?? join(dir, 'var/state'),
    lists_dir: data.lists_dir ?? join(dir, 'lists'),
  };
  config.main = main;
  config.lists = await loadLists(main, env, problems);
  return config;
}

function collect<T extends { problems: ConfigProblem[] }>(result: T, into: ConfigProblem[]): T {
  into.push(...result.problems);
  return result;
}

async function loadLists(
  main: NonNullable<LoadedConfig['main']>,
  env: NodeJS.ProcessEnv,
  problems: ConfigProblem[],
): Promise<LoadedList[]> {
  let names: string[];
  try {
    names = (await readdir(main.lists_dir)).filter((n) => /\.ya?ml$/.test(n)).sort();
  } catch (error) {
    problems.push({
      file: displayPath(main.lists_dir),
      line: 0,
      col: 0,
      key: '',
      message: `cannot read the lists directory: ${(error as NodeJS.ErrnoException).code ?? error}`,
      fix: 'create it with one NAME.yaml per list, or set lists_dir: in malist.yaml',
    });
    return [];
  }
  const lists: LoadedList[] = [];
  const byName = new Map<string, LoadedList>();
  const byAddress = new Map<string, LoadedList>();
  for (const fileName of names) {
    const list = await loadList(join(main.lists_dir, fileName), main, env, problems);
    if (!list) continue;
    const other = byName.get(list.name);
    if (other) {
      problems.push({
        file: list.source.file,
        line: 0,
        col: 0,
        key: '',
        message: `a second file for the list '${list.name}' (also ${other.source.file})`,
        fix: 'keep one of the two files',
      });
      continue;
    }
    const address = normalizeAddress(list.settings.address);
    const twin = byAddress.get(address);
    if (twin) {
      const at = twin.source.locate(['address']);
      problems.push({
        file: list.source.file,
        ...list.source.locate(['address']),
        key: 'address',
        message: `duplicate list address ${list.settings.address}: ${twin.source.file}:${at.line} already uses it`,
        fix: 'give every list its own address, or remove one of the two files',
      });
      continue;
    }
    byName.set(list.name, list);
    byAddress.set(address, list);
    lists.push(list);
  }
  return lists;
}

/**
 * The problems `text` would have as the list file `path` (the web's settings form checks
 * an edit with the loader's own schema and messages before anything is written).
 */
export async function checkListText(
  path: string,
  text: string,
  main: NonNullable<LoadedConfig['main']>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ConfigProblem[]> {
  const problems: ConfigProblem[] = [];
  await loadList(path, main, env, problems, parseYaml(text, path));
  return problems;
}

async function loadList(
  path: string,
  main: NonNullable<LoadedConfig['main']>,
  env: NodeJS.ProcessEnv,
  problems: ConfigProblem[],
  given?: YamlSource,
): Promise<LoadedList | undefined> {
  const source = given ?? (await readYaml(path));
  const name = basename(path, extname(path));
  if (!LIST_NAME.test(name)) {
    problems.push({
      file: source.file,
      line: 0,
      col: 0,
      key: '',
      message: `'${name}' cannot name a list (it keys files on disk)`,
      fix: 'rename the file: letters, digits, dot, dash and underscore, starting with a letter or digit',
    });
    return undefined;
  }
  problems.push(...source.problems);
  if (source.problems.length > 0) return undefined;
  const before = problems.length;
  const resolved = await resolveOptions(
    source.value,
    [],
    { source, baseDir: dirname(path), env },
    problems,
  );
  const { data } = collect(check(listSchema, resolved, source), problems);
  if (!data || problems.length > before) return undefined;
  const { members_file, members: inline, deliver_to, pipeline, description, ...own } = data;
  const defaults = main.defaults ?? {};
  const members = (inline ?? []).flatMap(memberAddress);
  let membersFrom = inline ? 'inline' : 'none';
  if (members_file) {
    const fromFile = await readMembersFile(members_file, source, problems);
    if (!fromFile) return undefined;
    members.push(...fromFile);
    membersFrom = inline ? `inline + ${displayPath(members_file)}` : displayPath(members_file);
  }
  void description;
  const { pipeline: _p, deliver_to: _d, unit_options: defaultOptions, ...inherited } = defaults;
  const unitOptions = { ...defaultOptions, ...own.unit_options };
  const settings = {
    ...inherited,
    ...own,
    ...(Object.keys(unitOptions).length > 0 ? { unit_options: unitOptions } : {}),
    name,
    members,
    state_dir: join(main.state_dir, 'lists'),
  } as ListSettings;
  return {
    name,
    source,
    settings,
    pipeline: pipeline ?? defaults.pipeline,
    deliver_to: deliver_to ?? defaults.deliver_to ?? [],
    membersFrom,
  };
}

const ADDRESS_LINE = /^[^\s@<>,;"]+@[^\s@<>,;"]+$/;

function isMemberOption(word: string): boolean {
  return (
    (OPTION_NAMES as readonly string[]).includes(word.toLowerCase()) ||
    /^nomail=(user|bounce|admin)$/i.test(word)
  );
}

/** A member entry's address (delivery options like nomail are the member store's business). */
function memberAddress(entry: unknown): string[] {
  if (typeof entry === 'string') {
    const match = /<([^<>]+)>\s*$/.exec(entry);
    return [(match ? match[1]! : entry).trim()];
  }
  if (
    entry &&
    typeof entry === 'object' &&
    typeof (entry as { address?: unknown }).address === 'string'
  ) {
    return [(entry as { address: string }).address];
  }
  return [];
}

/** One address a line; blank lines and # comments skipped. Undefined when unusable. */
async function readMembersFile(
  file: string,
  source: YamlSource,
  problems: ConfigProblem[],
): Promise<string[] | undefined> {
  const where = { file: source.file, ...source.locate(['members_file']), key: 'members_file' };
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    problems.push({
      ...where,
      message: `cannot read the members file ${displayPath(file)}: ${(error as NodeJS.ErrnoException).code ?? error}`,
      fix: 'create it with one address a line (# starts a comment), or fix the path (relative to the list file)',
    });
    return undefined;
  }
  if (/\.ya?ml$/.test(file)) {
    const members = yamlMembers(file, text);
    if (typeof members === 'string') {
      problems.push({
        ...where,
        message: members,
        fix: 'a YAML sequence of members (or a mapping with members:), as in lists/',
      });
      return undefined;
    }
    return members;
  }
  const out: string[] = [];
  const bad: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    // The text-file member store's format: `address [option …]`.
    const [address, ...options] = line.split(/\s+/);
    if (ADDRESS_LINE.test(address!) && options.every(isMemberOption)) out.push(address!);
    else bad.push(`${displayPath(file)}:${i + 1} '${line.slice(0, 60)}'`);
  });
  if (bad.length > 0) {
    problems.push({
      ...where,
      message: `not a member line: ${bad.slice(0, 3).join(', ')}${bad.length > 3 ? ` and ${bad.length - 3} more` : ''}`,
      fix: `one address a line, optionally followed by ${OPTION_NAMES.join(' ')} or nomail=user|bounce|admin; # for comments`,
    });
    return undefined;
  }
  return out;
}

/** Members of a YAML members file (a sequence, or a mapping with `members:`), or what is wrong. */
function yamlMembers(file: string, text: string): string[] | string {
  const source = parseYaml(text, file);
  if (source.problems.length > 0) {
    const p = source.problems[0]!;
    return `${p.file}:${p.line}:${p.col} ${p.message}`;
  }
  const value = source.value as unknown;
  const list = Array.isArray(value) ? value : (value as { members?: unknown } | null)?.members;
  if (!Array.isArray(list)) return `${displayPath(file)}: expected a sequence of members`;
  const bad = list.filter((m) => !member.safeParse(m).success);
  if (bad.length > 0) return `${displayPath(file)}: not a member entry: ${JSON.stringify(bad[0])}`;
  return list.flatMap(memberAddress);
}
