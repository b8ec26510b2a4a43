/**
 * Loads a configuration directory: `malist.yaml` (or the embedded default when there is
 * none) and every `lists/*.yaml`. Collects every problem instead of stopping at the first,
 * each naming file:line:col, the key, what was expected and the fix.
 */
import { readFileSync } from 'node:fs';
import { access, readdir } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { ListSettings } from '../list/settings.ts';
import { normalizeAddress } from '../mail/address.ts';
import { type CheckCache, checkedThrough } from './check-cache.ts';
import { EMBEDDED_DEFAULT, EMBEDDED_NAME } from './default.ts';
import { check } from './issues.ts';
import { listFilter } from './list-prefilter.ts';
import { memberTally, readMembersFile, yamlMemberAddresses } from './members.ts';
import type { ConfigProblem } from './problem.ts';
import { type ListYaml, listSchema, type MainYaml, mainSchema } from './schema.ts';
import { resolveOptions } from './secrets.ts';
import { displayPath, parseYaml, readYaml, type YamlSource } from './source.ts';

export const MAIN_FILE = 'malist.yaml';

export interface LoadedList {
  /** The short name: the file's name without .yaml. */
  name: string;
  source: YamlSource;
  /**
   * Settings with defaults applied (what every unit receives). `settings.members` holds
   * the static members only when posts read them — a list with both `members:` and
   * `members_file:` and no `member_store:`; a list whose member store is read at each post
   * (the usual case) leaves it empty, and its members are read through that store.
   */
  settings: ListSettings;
  /** How many members the loader read (inline and file), for `malist check`. */
  memberCount: number;
  /** The pipeline as written (or from defaults); undefined: the default pipeline. */
  pipeline?: ListYaml['pipeline'];
  /** Extra fixed recipients of every post. */
  deliver_to: string[];
  /** Where the members came from, for `malist check`. */
  membersFrom: string;
  /** A YAML members file as the loader read it: the list's member store starts from it. */
  membersSource?: YamlSource;
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
  /**
   * What was skipped but stops nothing (a member entry that is not an address): the list
   * runs with its other members. `malist check` and `malist run` print these.
   */
  warnings: ConfigProblem[];
  /**
   * Keys written in an old spelling that is still read (`secure: true` for `tls:
   * implicit`). `malist check` prints these; `malist run` does not, so cron stays quiet.
   */
  deprecated: ConfigProblem[];
}

export interface LoadOptions {
  /** The configuration directory. @default the working directory */
  dir?: string;
  /** Where secrets come from. @default process.env */
  env?: NodeJS.ProcessEnv;
  /**
   * false: malist.yaml only, no list is read (`malist serve` asks where to listen before
   * it opens the site, which reads every list and its members once). @default true
   */
  lists?: boolean;
  /**
   * The one list a mail is for, when the caller knows it before loading (`malist receive`, a
   * process per mail): `name` reads that list's file alone, `recipient` only the files whose
   * list could have that address (list-prefilter.ts). The other lists are not read, so
   * their problems stop nothing here. When none of these is the list, the caller loads
   * again without `only`. @default every list
   */
  only?: { name: string } | { recipient: string };
  /**
   * Parsed and checked files kept from an earlier load (config/check-cache.ts): `malist
   * receive`, a process per mail, reads the same files each time. @default none
   */
  cache?: CheckCache;
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
    : await readYaml(mainPath, options.cache);
  const problems: ConfigProblem[] = [...source.problems];
  const warnings: ConfigProblem[] = [];
  const config: LoadedConfig = {
    dir,
    embedded,
    source,
    lists: [],
    problems,
    warnings,
    deprecated: [],
  };
  if (source.problems.length > 0) return config;

  const resolved = await resolveOptions(source.value, [], { source, baseDir: dir, env }, problems);
  const data = checkedThrough(
    options.cache,
    'main',
    resolved,
    () => collect(check(mainSchema, resolved, source), problems).data,
  );
  if (!data) return config;
  const main = {
    ...data,
    state_dir: data.state_dir ?? join(dir, 'var/state'),
    lists_dir: data.lists_dir ?? join(dir, 'lists'),
  };
  config.main = main;
  if (options.lists !== false)
    config.lists = await loadLists(main, env, problems, warnings, options);
  return config;
}

/** The file's text, or undefined when it cannot be read. */
function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function collect<T extends { problems: ConfigProblem[] }>(result: T, into: ConfigProblem[]): T {
  into.push(...result.problems);
  return result;
}

async function loadLists(
  main: NonNullable<LoadedConfig['main']>,
  env: NodeJS.ProcessEnv,
  problems: ConfigProblem[],
  warnings: ConfigProblem[],
  { only, cache }: LoadOptions,
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
  // For a recipient, each file is read here, to look at its text first: the one read
  // loadList then parses. A file that cannot be read is left to loadList to report. Read
  // synchronously: only `malist receive` passes `only`, a process of one mail with nothing
  // else to run, and 51 small files took ~14 ms of CPU through fs/promises in a new process,
  // ~1.3 ms with readFileSync.
  const mayBeFor = only && 'recipient' in only ? listFilter(only.recipient) : undefined;
  for (const fileName of names) {
    const path = join(main.lists_dir, fileName);
    const name = basename(fileName, extname(fileName));
    if (only && 'name' in only && name !== only.name) continue;
    const text = mayBeFor ? readText(path) : undefined;
    if (mayBeFor && text !== undefined && !mayBeFor(text, name)) continue;
    const given = text === undefined ? undefined : parseYaml(text, path, cache);
    const list = await loadList(path, main, env, problems, warnings, given, cache);
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
  await loadList(path, main, env, problems, [], parseYaml(text, path));
  return problems;
}

async function loadList(
  path: string,
  main: NonNullable<LoadedConfig['main']>,
  env: NodeJS.ProcessEnv,
  problems: ConfigProblem[],
  warnings: ConfigProblem[],
  given?: YamlSource,
  cache?: CheckCache,
): Promise<LoadedList | undefined> {
  const source = given ?? (await readYaml(path, cache));
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
  const data = checkedThrough(
    cache,
    'list',
    resolved,
    () => collect(check(listSchema, resolved, source), problems).data,
  );
  if (!data || problems.length > before) return undefined;
  const { members_file, members: inline, deliver_to, pipeline, description, ...own } = data;
  const defaults = main.defaults ?? {};
  // Every entry is checked (warnings, the count); the addresses are kept only where no
  // member store reads them at each post (config/build.ts, implicitStore).
  const tally = memberTally(
    own.member_store === undefined && inline !== undefined && members_file !== undefined,
  );
  yamlMemberAddresses(inline ?? [], source, ['members'], warnings, tally);
  let membersFrom = inline ? 'inline' : 'none';
  let membersSource: YamlSource | undefined;
  if (members_file) {
    const read = await readMembersFile(members_file, source, problems, warnings, tally, cache);
    if (!read) return undefined;
    membersSource = read.yaml;
    membersFrom = inline ? `inline + ${displayPath(members_file)}` : displayPath(members_file);
  }
  void description;
  const { pipeline: _p, deliver_to: _d, unit_options: defaultOptions, ...inherited } = defaults;
  const unitOptions = { ...defaultOptions, ...own.unit_options };
  // A list's `archive: {web: public}` keeps the `url` every list takes from defaults.
  const archive =
    inherited.archive || own.archive ? { ...inherited.archive, ...own.archive } : undefined;
  const siteRules = (main.header_matches ?? []).map((rule) => ({ ...rule, site: true }));
  const settings = {
    ...inherited,
    ...own,
    ...(siteRules.length || own.header_matches
      ? { header_matches: [...siteRules, ...(own.header_matches ?? [])] }
      : {}),
    ...(Object.keys(unitOptions).length > 0 ? { unit_options: unitOptions } : {}),
    ...(archive ? { archive } : {}),
    name,
    members: tally.addresses,
    state_dir: join(main.state_dir, 'lists'),
  } as ListSettings;
  return {
    name,
    source,
    settings,
    pipeline: pipeline ?? defaults.pipeline,
    deliver_to: deliver_to ?? defaults.deliver_to ?? [],
    memberCount: tally.count,
    membersFrom,
    ...(membersSource ? { membersSource } : {}),
  };
}
