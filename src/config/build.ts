/**
 * From loaded configuration to running units. `planAll` checks every unit mapping (type,
 * options against the unit's schema, `server:` references, custom modules) without starting
 * anything — that is `malist check`; `instantiate*` then calls the factories.
 */
import { dirname, resolve as resolvePath } from 'node:path';
import type { z } from 'zod';
import type { ArchiveOptions } from '../distributors/archive.ts';
import { distributorLoaders } from '../distributors/loaders.ts';
import type { QueueDistributorOptions } from '../distributors/queue.ts';
import { fetcherLoaders } from '../fetchers/loaders.ts';
import { memberStores, openMemberStore } from '../members/index.ts';
import type { MemberStore } from '../members/store.ts';
import createSingleList, { type SingleList } from '../processors/single-list.ts';
import { DEFAULT_PIPELINE, type UnitFactory, units } from '../processors/units.ts';
import { reactorLoaders } from '../reactors/loaders.ts';
import type {
  Distributor,
  Fetcher,
  OptionsSchema,
  Reactor,
  UnitLoader,
  UnitModule,
} from '../types.ts';
import { authenticationProblems } from './authentication.ts';
import { type CheckCache, checkedThrough } from './check-cache.ts';
import { isPathType, loadCustomUnit } from './custom.ts';
import { type Origin, problemsOf } from './issues.ts';
import type { LoadedConfig, LoadedList } from './load.ts';
import { type ConfigProblem, didYouMean, formatProblem, keyPath, sortProblems } from './problem.ts';
import type { UnitSpecValue } from './schema.ts';
import type { SigningPlan } from './signing.ts';
import { problemAt, type YamlSource } from './source.ts';

type AnyFactory = (...args: never[]) => unknown;

export type UnitKind = 'fetcher' | 'distributor' | 'reactor' | 'unit' | 'member-store';

/** Where a unit of this type takes the settings of a `server:` (queue: under `smtp`). */
const SERVER_KEY: Record<string, string | undefined> = { queue: 'smtp' };

/** Reactors that need the state directory get malist.yaml's unless they name one. */
const NEEDS_STATE_DIR = new Set(['quarantine']);

/** Eager registries as loaders (every unit of a pipeline is needed; member stores are small). */
const loaded = <F>(registry: Record<string, UnitModule<F>>) =>
  Object.fromEntries(
    Object.entries(registry).map(([type, mod]) => [type, () => Promise.resolve(mod)]),
  ) as Record<string, UnitLoader<F>>;

/**
 * By kind, YAML `type:` → its module's loader: fetchers, distributors and reactors are
 * imported only when a configuration names them (a `malist receive` loads neither IMAP nor
 * POP3 nor the archive).
 */
const REGISTRIES: Record<UnitKind, Record<string, UnitLoader<AnyFactory>>> = {
  fetcher: fetcherLoaders,
  distributor: distributorLoaders,
  reactor: reactorLoaders,
  unit: loaded<AnyFactory>(units),
  'member-store': loaded<AnyFactory>(memberStores),
};

const KIND_KEY: Record<UnitKind, string> = {
  fetcher: 'fetcher',
  distributor: 'distributor',
  reactor: 'reactor',
  unit: 'pipeline unit',
  'member-store': 'member store',
};

/** One checked unit, ready for its factory. */
export interface Plan {
  kind: UnitKind;
  type: string;
  factory: AnyFactory;
  options: Record<string, unknown>;
  /**
   * Where it was written, for messages: found when asked (a file read from the check cache
   * has no document until then, config/check-cache.ts).
   */
  where: () => string;
  /** Nested distributors (multiple, deliver-to). */
  children?: Plan[];
}

export interface ListPlan {
  list: LoadedList;
  units: Plan[];
  /** The list's member store, when it names one. */
  memberStore?: Plan;
  /** The list's DKIM and ARC keys, loaded, when it signs. */
  signing?: SigningPlan;
}

export interface Plans {
  fetchers: Plan[];
  distributors: Plan[];
  reactors: Plan[];
  lists: ListPlan[];
}

interface PlanContext {
  config: LoadedConfig;
  problems: ConfigProblem[];
  /** Custom modules by resolved key, loaded once. */
  custom: Map<string, Promise<Awaited<ReturnType<typeof loadCustomUnit>>>>;
  /** Built-in units' checked options kept from an earlier load (`malist receive`). */
  cache?: CheckCache;
}

function asArray<T>(value: T | T[] | undefined): { item: T; path: PropertyKey[] }[] {
  if (value === undefined) return [];
  return Array.isArray(value)
    ? value.map((item, i) => ({ item, path: [i] }))
    : [{ item: value, path: [] }];
}

/**
 * A list's own `unit_options:` naming a unit its pipeline does not run would do nothing, in
 * silence: a typo (`emergncy`) or a unit left out of a custom `pipeline:`. Site-wide
 * `defaults: unit_options:` are exempt, since lists with their own pipelines share them.
 */
function noteStrayUnitOptions(list: LoadedList, specs: UnitSpecValue[], ctx: PlanContext): void {
  const own = (list.source.value as { unit_options?: unknown }).unit_options;
  if (!own || typeof own !== 'object') return;
  const running = specs.map((spec) => (typeof spec === 'string' ? spec : spec.type));
  for (const name of Object.keys(own)) {
    if (running.includes(name)) continue;
    const known = Object.keys(REGISTRIES.unit);
    const near = known.includes(name) ? undefined : didYouMean(name, known);
    ctx.problems.push({
      file: list.source.file,
      ...list.source.locate(['unit_options', name], 'key'),
      key: keyPath(['unit_options', name]),
      message: known.includes(name)
        ? `this list's pipeline has no ${name} unit, so these options do nothing`
        : `unknown unit '${name}'`,
      fix: near
        ? `did you mean '${near}'?`
        : known.includes(name)
          ? `add ${name} to pipeline:, or remove these options`
          : `use one of ${running.join(' | ')}`,
    });
  }
}

/** Options a unit takes from elsewhere than its own mapping: which file, where, what. */
interface Layer {
  source: YamlSource;
  path: PropertyKey[];
  value: unknown;
  /** The layer's keys sit under this option (a server's settings under the queue's `smtp`). */
  under?: string;
}

/**
 * Where each option was written: in the layer that holds the deepest part of its path (the
 * first layer on a tie), so a `servers:` value is reported at its own line, not the unit's.
 */
function originOf(layers: Layer[]): Origin {
  return (p) => {
    let best = { layer: layers[0]!, rel: [...p], depth: -1 };
    for (const layer of layers) {
      const rel =
        layer.under === undefined ? [...p] : p[0] === layer.under ? p.slice(1) : undefined;
      if (!rel) continue;
      let depth = layer.under === undefined ? 0 : 1;
      let node = layer.value;
      for (const segment of rel) {
        if (!node || typeof node !== 'object' || !Object.hasOwn(node, segment as string)) break;
        node = (node as Record<PropertyKey, unknown>)[segment];
        depth++;
      }
      if (depth > best.depth) best = { layer, rel, depth };
    }
    return { source: best.layer.source, path: [...best.layer.path, ...best.rel] };
  };
}

/** A warning for each old spelling a unit still reads, once at the line that wrote it. */
function warnDeprecated(
  found: { path: PropertyKey[]; instead: string }[],
  origin: Origin,
  ctx: PlanContext,
): void {
  for (const d of found) {
    const at = origin(d.path);
    const key = keyPath(at.path);
    if (ctx.config.deprecated.some((w) => w.file === at.source.file && w.key === key)) continue;
    // Its line is found when read (`malist check` prints it, `receive` never does).
    ctx.config.deprecated.push(
      problemAt(
        at.source,
        at.path,
        {
          file: at.source.file,
          key,
          message: 'deprecated spelling, still read',
          fix: `write ${d.instead}`,
        },
        'key',
      ),
    );
  }
}

/**
 * A unit's options checked against its schema: the options as the factory takes them, or
 * undefined with the problems recorded (at the key, else at the unit's mapping).
 */
function checkOptions(
  unit: {
    type: string;
    options: Record<string, unknown>;
    schema: OptionsSchema;
    whole: (() => OptionsSchema) | undefined;
    source: YamlSource;
    origin: Origin;
    /** Where the unit was written (found for a problem only). */
    at: () => Omit<ConfigProblem, 'message' | 'fix'>;
  },
  ctx: PlanContext,
): Record<string, unknown> | undefined {
  const { type, options, source, origin } = unit;
  let schema = unit.schema;
  let result = schema.safeParse(options);
  if (!result.success && unit.whole) {
    // Keys `schema` leaves out (the queue's sending services), or a mistake: the whole
    // schema decides, and its messages know every key.
    schema = unit.whole();
    result = schema.safeParse(options);
  }
  if (result.success) return result.data as Record<string, unknown>;
  const before = ctx.problems.length;
  if (result.error && typeof result.error === 'object' && 'issues' in result.error) {
    ctx.problems.push(
      ...problemsOf(result.error as z.ZodError, source, schema as z.ZodType, origin).map((p) => ({
        ...p,
        message: `${type}: ${p.message}`,
      })),
    );
  }
  if (ctx.problems.length === before)
    ctx.problems.push({
      ...unit.at(),
      message: `${type}: invalid options`,
      fix: `see the options documented in ${type}`,
    });
  return undefined;
}

/** Checks one unit mapping; undefined (with problems recorded) when it cannot be built. */
async function planUnit(
  kind: UnitKind,
  spec: UnitSpecValue,
  source: YamlSource,
  path: PropertyKey[],
  baseDir: string,
  ctx: PlanContext,
  /** Where options merged into `spec` came from (`unit_options:`), and what was written at `path`. */
  merged?: { own: unknown; layer: Layer },
): Promise<Plan | undefined> {
  const { type, server, ...written } =
    typeof spec === 'string'
      ? { type: spec, server: undefined }
      : (spec as Record<string, unknown> & { type: string });
  const typePath = typeof spec === 'string' ? path : [...path, 'type'];
  const at = (p: PropertyKey[]) => ({ file: source.file, ...source.locate(p), key: keyPath(p) });
  const registry = REGISTRIES[kind];
  const builtIn = Object.hasOwn(registry, type) ? await registry[type]!() : undefined;
  let factory = builtIn?.default;
  let schema: OptionsSchema | undefined = builtIn?.schema;
  if (!factory) {
    const custom = isPathType(type) || /^(@[\w.-]+\/)?[\w.-]+$/.test(type) ? type : undefined;
    const near = didYouMean(type, Object.keys(registry));
    if (custom && !(near && !isPathType(type))) {
      const key = isPathType(type) ? `${baseDir}\0${type}` : type;
      if (!ctx.custom.has(key)) ctx.custom.set(key, loadCustomUnit(type, baseDir));
      try {
        const mod = await ctx.custom.get(key)!;
        factory = mod.factory;
        schema = mod.schema as typeof schema;
      } catch (error) {
        ctx.problems.push({
          ...at(typePath),
          message: `unknown ${KIND_KEY[kind]} type '${type}' (${(error as Error).message})`,
          fix: `use one of ${Object.keys(registry).join(' | ')}, a relative path (./my-unit.ts) or an installed package`,
        });
        return undefined;
      }
    } else {
      ctx.problems.push({
        ...at(typePath),
        message: `unknown ${KIND_KEY[kind]} type '${type}'; expected one of ${Object.keys(registry).join(' | ')}`,
        fix: near
          ? `did you mean '${near}'?`
          : 'or a relative path (./my-unit.ts) to a custom unit',
      });
      return undefined;
    }
  }
  let options: Record<string, unknown> = written;
  const layers: Layer[] = [{ source, path, value: merged ? merged.own : written }];
  if (merged) layers.push(merged.layer);
  if (server !== undefined) {
    const servers = ctx.config.main?.servers ?? {};
    const named = typeof server === 'string' ? servers[server] : undefined;
    if (!named) {
      ctx.problems.push({
        ...at([...path, 'server']),
        message: `no server named ${JSON.stringify(server)} under servers:`,
        fix: `add it to servers: or use one of ${Object.keys(servers).join(', ') || '(none defined)'}`,
      });
      return undefined;
    }
    const into = SERVER_KEY[type];
    layers.push({
      source: ctx.config.source,
      path: ['servers', server as string],
      value: named,
      ...(into ? { under: into } : {}),
    });
    options = into
      ? { ...written, [into]: { ...named, ...(written[into] as object | undefined) } }
      : { ...named, ...written };
  }
  if (kind === 'distributor' && type === 'queue' && ctx.config.main?.queue) {
    options = { ...ctx.config.main.queue, ...options };
    layers.push({ source: ctx.config.source, path: ['queue'], value: ctx.config.main.queue });
  }
  if (kind === 'reactor' && NEEDS_STATE_DIR.has(type) && ctx.config.main) {
    options = { state_dir: ctx.config.main.state_dir, ...options };
  }
  // (A secret that could not be resolved was reported where it is written, and stands in
  // resolved, so the schema adds no false "missing" — config/secrets.ts.)
  const origin = originOf(layers);
  warnDeprecated(builtIn?.deprecated?.(options) ?? [], origin, ctx);
  if (schema) {
    const whole = builtIn?.wholeSchema;
    const unit = { type, options, schema, whole, source, origin, at: () => at(path) };
    // A custom unit's schema may be anything: only a built-in unit's check is kept.
    const checked = checkedThrough(
      builtIn ? ctx.cache : undefined,
      `${kind}:${type}`,
      options,
      () => checkOptions(unit, ctx),
    );
    if (!checked) return undefined;
    options = checked;
  }
  if (kind === 'distributor' && type === 'queue' && !queueDirOk(ctx, options)) {
    ctx.problems.push({
      ...at(path),
      message: 'queue: no dir: for its spool (storage: files keeps the queue in a directory)',
      fix: 'add dir: /var/spool/malist/queue (here or under queue: in malist.yaml), or put the queue in PostgreSQL with storage: {type: postgres}',
    });
    return undefined;
  }
  const plan: Plan = {
    kind,
    type,
    factory: factory as AnyFactory,
    options,
    where: () => `${source.file}:${source.locate(path).line}`,
  };
  if (kind === 'distributor' && (type === 'multiple' || type === 'deliver-to')) {
    const nested =
      type === 'multiple'
        ? asArray(options.distributors as UnitSpecValue[]).map((c) => ({
            ...c,
            path: ['distributors', ...c.path],
          }))
        : [{ item: options.distributor as UnitSpecValue, path: ['distributor'] }];
    const children: Plan[] = [];
    for (const child of nested) {
      const p = await planUnit(
        'distributor',
        child.item,
        source,
        [...path, ...child.path],
        baseDir,
        ctx,
      );
      if (!p) return undefined;
      children.push(p);
    }
    plan.children = children;
  }
  return plan;
}

/**
 * Without `member_store:`, members are read at each post from where they are written — the
 * members file (text or YAML) or the list file's own `members:` — so per-member options
 * (nomail, digest, notmetoo) and subscriptions by mail take effect.
 */
function implicitStore(list: LoadedList): { type: 'yaml' | 'text-file'; file: string } | undefined {
  const raw = list.source.value as Record<string, unknown>;
  if (typeof raw.members_file === 'string') {
    const dir = list.source.path.replace(/[/\\][^/\\]*$/, '');
    const file = raw.members_file.startsWith('/') ? raw.members_file : `${dir}/${raw.members_file}`;
    if (raw.members !== undefined) return undefined; // both: the static union is the truth
    return { type: /\.ya?ml$/.test(file) ? 'yaml' : 'text-file', file };
  }
  if (Array.isArray(raw.members)) return { type: 'yaml', file: list.source.path };
  return undefined;
}

/**
 * The plan of a list's implicit member store (implicitStore). A YAML file the loader read
 * (the list's own, or its members file) is read from the value the loader has: a post
 * parses no YAML.
 */
function implicitStorePlan(list: LoadedList): Plan | undefined {
  const implicit = implicitStore(list);
  if (!implicit) return undefined;
  const read =
    implicit.type === 'yaml'
      ? [list.source, list.membersSource].find((s) => s && s.path === resolvePath(implicit.file))
      : undefined;
  return {
    kind: 'member-store',
    type: implicit.type,
    factory: memberStores[implicit.type].default as AnyFactory,
    options: {
      file: implicit.file,
      ...(read ? { plain: { text: read.text, value: read.value } } : {}),
    },
    where: () => list.source.file,
  };
}

/** Whether `spec` (a list's `member_store:`) names the PostgreSQL store (config/pg-members.ts). */
export function isPostgresStore(spec: unknown): boolean {
  return (
    spec === 'postgres' ||
    (typeof spec === 'object' && spec !== null && (spec as { type?: unknown }).type === 'postgres')
  );
}

function typeOf(spec: UnitSpecValue): string {
  return typeof spec === 'string' ? spec : spec.type;
}

/** Checks every unit of the configuration; problems go to `config.problems`. */
export async function planAll(config: LoadedConfig, cache?: CheckCache): Promise<Plans> {
  const ctx: PlanContext = {
    config,
    problems: config.problems,
    custom: new Map(),
    ...(cache ? { cache } : {}),
  };
  const plans: Plans = { fetchers: [], distributors: [], reactors: [], lists: [] };
  const main = config.main;
  if (!main) return plans;
  const source = config.source;
  const dir = config.dir;
  const raw = source.value as Record<string, unknown>;
  for (const { item, path } of asArray(main.fetch)) {
    const p = await planUnit('fetcher', item, source, ['fetch', ...path], dir, ctx);
    if (p) plans.fetchers.push(p);
  }
  for (const { item, path } of asArray(main.distribute)) {
    const p = await planUnit('distributor', item, source, ['distribute', ...path], dir, ctx);
    if (p) plans.distributors.push(p);
  }
  const reactorSpecs = main.reactors ?? (raw.reactors === undefined ? ['stderr-logger'] : []);
  for (const [i, item] of reactorSpecs.entries()) {
    const p = await planUnit('reactor', item, source, ['reactors', i], dir, ctx);
    if (p) plans.reactors.push(p);
  }
  for (const list of config.lists) {
    const fromList = (list.source.value as Record<string, unknown>).pipeline !== undefined;
    const pipeSource = fromList || !list.pipeline ? list.source : source;
    const pipePath = fromList || !list.pipeline ? ['pipeline'] : ['defaults', 'pipeline'];
    const baseDir = fromList ? list.source.path.replace(/[/\\][^/\\]*$/, '') : dir;
    const specs: UnitSpecValue[] = list.pipeline ?? [...DEFAULT_PIPELINE];
    const unitOptions =
      (list.settings as { unit_options?: Record<string, Record<string, unknown>> }).unit_options ??
      {};
    const listUnits: Plan[] = [];
    for (const [i, spec] of specs.entries()) {
      const type = typeof spec === 'string' ? spec : spec.type;
      const merged =
        unitOptions[type] !== undefined
          ? { ...unitOptions[type], ...(typeof spec === 'string' ? { type } : spec) }
          : spec;
      // Options written only under unit_options: are reported there, in the file that wrote them.
      const optionsOnly = typeof spec === 'string' && unitOptions[type] !== undefined;
      const ownOptions = (list.source.value as { unit_options?: Record<string, unknown> })
        .unit_options?.[type];
      const [unitSource, unitPath] = optionsOnly
        ? ownOptions !== undefined
          ? [list.source, ['unit_options', type]]
          : [source, ['defaults', 'unit_options', type]]
        : [pipeSource, list.pipeline ? [...pipePath, i] : ['address']];
      const fromOptions =
        !optionsOnly && unitOptions[type] !== undefined
          ? {
              own: spec,
              layer: {
                ...(ownOptions !== undefined
                  ? { source: list.source, path: ['unit_options', type] }
                  : { source, path: ['defaults', 'unit_options', type] }),
                value: unitOptions[type],
              },
            }
          : undefined;
      const p = await planUnit('unit', merged, unitSource, unitPath, baseDir, ctx, fromOptions);
      if (p) listUnits.push(p);
    }
    noteStrayUnitOptions(list, specs, ctx);
    const listPlan: ListPlan = { list, units: listUnits };
    const storeSpec = (list.source.value as Record<string, unknown>).member_store as
      | UnitSpecValue
      | undefined;
    if (isPostgresStore(storeSpec)) {
      // Imported here: a list on files never loads the PostgreSQL member store's plan.
      const { postgresMemberPlan } = await import('./pg-members.ts');
      const p = await postgresMemberPlan(list, config.main, ctx.problems);
      if (p) listPlan.memberStore = p;
    } else if (storeSpec !== undefined) {
      // `member_store: yaml` alone reads this list file's own members:.
      const spec =
        typeof storeSpec === 'string' || storeSpec.file === undefined
          ? {
              ...(typeof storeSpec === 'string' ? { type: storeSpec } : storeSpec),
              ...(typeOf(storeSpec) === 'yaml' ? { file: list.source.path } : {}),
            }
          : storeSpec;
      const listDir = list.source.path.replace(/[/\\][^/\\]*$/, '');
      const resolved =
        typeof spec === 'object' && typeof spec.file === 'string' && !spec.file.startsWith('/')
          ? { ...spec, file: `${listDir}/${spec.file}` }
          : spec;
      const p = await planUnit(
        'member-store',
        resolved,
        list.source,
        ['member_store'],
        listDir,
        ctx,
      );
      if (p) listPlan.memberStore = p;
    } else {
      const implicit = implicitStorePlan(list);
      if (implicit) listPlan.memberStore = implicit;
    }
    // The signing code (keys, ARC, the signer pool) is loaded only for a list with keys.
    const signing = list.settings.dkim
      ? await (await import('./signing.ts')).planSigning(list, config, ctx.problems)
      : undefined;
    if (signing) listPlan.signing = signing;
    plans.lists.push(listPlan);
  }
  ctx.problems.push(...authenticationProblems(config, plans.lists));
  // (A distributor that did not check out has its own problem, maybe under servers: or queue:.)
  if (
    asArray(main.distribute).length === 0 &&
    !ctx.problems.some((p) => p.key.startsWith('distribute'))
  )
    ctx.problems.push({
      file: source.file,
      line: 1,
      col: 1,
      key: 'distribute',
      message: 'missing; nothing would deliver list mail',
      fix: 'add distribute: { type: queue, server: … } (or type: maildir for a local test)',
    });
  // A site-wide setting (defaults:, servers:) is checked once per list or unit that takes it:
  // its problem is one problem.
  const seen = new Set<string>();
  const unique = ctx.problems.filter((p) => {
    const id = formatProblem(p);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
  ctx.problems.splice(0, ctx.problems.length, ...unique);
  sortProblems(ctx.problems);
  return plans;
}

/** Calls a plan's factory (children first); a factory's own refusal is a problem. */
export function instantiate<T>(
  plan: Plan,
  /** Options the composition root adds: the same for every unit, or by each unit's plan. */
  extra: Record<string, unknown> | ((plan: Plan) => Record<string, unknown>) = {},
): T {
  let options: Record<string, unknown> = {
    ...plan.options,
    ...(typeof extra === 'function' ? extra(plan) : extra),
  };
  if (plan.children) {
    const built = plan.children.map((c) => instantiate<Distributor>(c, extra));
    options =
      plan.type === 'multiple'
        ? { ...options, distributors: built }
        : { ...options, distributor: built[0] };
  }
  try {
    return (plan.factory as (options: unknown) => T)(options);
  } catch (error) {
    throw new Error(`${plan.where()}: ${plan.type}: ${(error as Error).message}`, { cause: error });
  }
}

/** Reactors wired by the list services (config/services.ts), not from their YAML options. */
const WIRED_REACTORS = new Set(['notify-poster', 'notify-moderators']);

/** The configured reactors (notices to posters and moderators are wired by the services). */
export function buildReactors(plans: Plans): Reactor[] {
  return plans.reactors
    .filter((p) => !WIRED_REACTORS.has(p.type))
    .map((p) => instantiate<Reactor>(p));
}

/** The sources; POP3/IMAP keep their record of handled UIDs under the state directory. */
export function buildFetchers(plans: Plans, stateDir: string): Fetcher[] {
  return plans.fetchers.map((p) =>
    instantiate<Fetcher>(
      p.type === 'pop3' || p.type === 'imap' ? { ...p, options: { stateDir, ...p.options } } : p,
    ),
  );
}

/**
 * The configured distributors; reactors go to those that report on their own (the queue),
 * and `onRecipientFailed` to the queue, for recipients it gives up on at a later run; the
 * archive distributors (also inside `multiple`) get the shared archive index opener, or the
 * archive's rows when `storage:` is PostgreSQL.
 */
export function buildDistributors(
  plans: Plans,
  reactorList: Reactor[],
  queueHooks: Pick<
    QueueDistributorOptions,
    'onRecipientFailed' | 'personalise' | 'sender' | 'onDelivered' | 'signer' | 'store' | 'storeFor'
  > = {},
  archive: Pick<ArchiveOptions, 'openIndex' | 'rows'> = {},
): Distributor[] {
  // By each unit's own type, nested ones too: a queue inside `multiple` gets its store.
  return plans.distributors.map((p) =>
    instantiate<Distributor>(p, (unit) =>
      unit.type === 'queue'
        ? { reactors: reactorList, ...queueHooks }
        : unit.type === 'archive'
          ? { ...archive }
          : {},
    ),
  );
}

/**
 * The member store of the list named `name` (a new instance) for membership commands. A
 * list whose posts read no store (no members yet, or both `members:` and `members_file:`)
 * still gets one: its members file, else its own `members:`.
 */
export function memberStoreOf(plans: Plans, name: string): MemberStore | undefined {
  const listPlan = plans.lists.find((l) => l.list.name === name);
  if (!listPlan) return undefined;
  const { path, value, parsed } = listPlan.list.source;
  const store = listPlan.memberStore;
  if (store) {
    // The list file's own members: the store starts from the document the loader parsed.
    const own = store.type === 'yaml' && store.options.file === path && !store.options.key;
    return instantiate<MemberStore>(store, own && parsed ? { parsed } : {});
  }
  const file = (value as { members_file?: unknown } | undefined)?.members_file;
  return openMemberStore(
    path,
    typeof file === 'string' ? resolvePath(dirname(path), file) : undefined,
  );
}

/**
 * One list's pipeline; its `deliver_to` addresses join the envelope after the pipeline.
 * `wired`: options the composition root gives units by type (a verifier, a resolver).
 * `wrapStore` puts something around the list's member store (the runtime's event taps).
 */
export function buildList(
  plan: ListPlan,
  wired: Record<string, Record<string, unknown>> = {},
  wrapStore: (store: MemberStore) => MemberStore = (store) => store,
): SingleList {
  const { list } = plan;
  const extraUnits: Record<string, UnitModule<UnitFactory>> = {};
  for (const u of plan.units)
    if (!(u.type in units)) extraUnits[u.type] = { default: u.factory as unknown as UnitFactory };
  let single: SingleList;
  try {
    single = createSingleList({
      ...list.settings,
      ...(plan.memberStore
        ? { member_store: wrapStore(instantiate<MemberStore>(plan.memberStore)) }
        : {}),
      pipeline: plan.units.map((u) => ({ ...u.options, ...wired[u.type], type: u.type })),
      extraUnits,
    });
  } catch (error) {
    throw new Error(`${list.source.file}: ${(error as Error).message}`, { cause: error });
  }
  if (list.deliver_to.length === 0) return single;
  const extra = list.deliver_to;
  return {
    ...single,
    async process(mail) {
      const out = await single.process(mail);
      out.ml_send_to = [...new Set([...(out.ml_send_to ?? []), ...extra])];
      return out;
    },
  };
}

/** A `type: queue` distributor needs its spool `dir` unless the queue is in PostgreSQL. */
function queueDirOk(ctx: { config: LoadedConfig }, options: Record<string, unknown>): boolean {
  return options.dir !== undefined || ctx.config.main?.storage?.type === 'postgres';
}
