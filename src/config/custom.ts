/**
 * Custom units: a `type:` that is a relative path (`./units/shout.ts`, resolved against the
 * YAML file that names it) or an installed package name. The module's default export is the
 * factory (for a pipeline unit: `(list, options) => Processor`); it may export `schema`
 * (anything with zod's `safeParse`) to have its options checked like a built-in unit's.
 */
import { createRequire, register } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface CustomModule {
  factory: (...args: never[]) => unknown;
  schema?: { safeParse(value: unknown): { success: boolean; data?: unknown; error?: unknown } };
}

/** True when `type` names a file rather than a registry entry or a package. */
export function isPathType(type: string): boolean {
  return type.startsWith('./') || type.startsWith('../') || isAbsolute(type);
}

let tsxRegistered: Promise<void> | undefined;

/**
 * Marks a TypeScript unit's URL (and the `.ts` files it imports) for `UNIT_HOOKS`: loaded
 * as an ES module, whatever the package.json above it says.
 */
const UNIT_MARK = '?malist-unit';

/**
 * A resolve hook, registered after tsx's (so it runs first): a marked `.ts` file is an ES
 * module. tsx takes the format of a `.ts` file from the nearest package.json, as Node does
 * for `.js`: in a configuration directory with none, or without `"type": "module"`, a unit
 * written as malist documents it (`import … from 'malist'`, `export default`) was loaded as
 * CommonJS and failed ("Cannot require() ES Module … in a cycle", or `import` refused).
 * `.mts` and `.cts` keep the format their extension says.
 */
const UNIT_HOOKS = `export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  const marked = specifier.endsWith(${JSON.stringify(UNIT_MARK)}) || (context.parentURL ?? '').endsWith(${JSON.stringify(UNIT_MARK)});
  if (!marked || !resolved.url.startsWith('file:') || !new URL(resolved.url).pathname.endsWith('.ts')) return resolved;
  const url = resolved.url.endsWith(${JSON.stringify(UNIT_MARK)}) ? resolved.url : resolved.url + ${JSON.stringify(UNIT_MARK)};
  return { ...resolved, url, format: 'module' };
}
`;

/**
 * Registers tsx's TypeScript loader and `UNIT_HOOKS`, once. tsx is an optional peer
 * dependency: only a custom unit written in TypeScript needs it, so a missing tsx is said
 * in those words.
 */
function registerTsx(): Promise<void> {
  tsxRegistered ??= import('tsx/esm/api').then(
    ({ register: registerTsxHooks }) => {
      registerTsxHooks();
      register(`data:text/javascript,${encodeURIComponent(UNIT_HOOKS)}`);
    },
    (error: NodeJS.ErrnoException) => {
      tsxRegistered = undefined;
      if (error.code !== 'ERR_MODULE_NOT_FOUND') throw error;
      throw new Error(
        'a unit written in TypeScript needs tsx, which is not installed: `npm install tsx` ' +
          'beside malist (an optional peer dependency), or compile the unit to JavaScript',
      );
    },
  );
  return tsxRegistered;
}

/** Files tsx compiles: TypeScript, as an ES module (`.mts`), CommonJS (`.cts`) or by package. */
const TYPESCRIPT = /\.([mc]?ts|tsx)$/;

/**
 * Imports a module. A unit in TypeScript goes through tsx's loader (malist running from its
 * compiled build, dist/, has none of its own); a `.ts` one is an ES module wherever it lies.
 */
async function importModule(url: string): Promise<Record<string, unknown>> {
  const path = new URL(url).pathname;
  if (!TYPESCRIPT.test(path)) return (await import(url)) as Record<string, unknown>;
  await registerTsx();
  const marked = path.endsWith('.ts') ? `${url}${UNIT_MARK}` : url;
  return (await import(marked)) as Record<string, unknown>;
}

/** Imports a custom unit; throws an Error whose message says what was wrong. */
export async function loadCustomUnit(type: string, baseDir: string): Promise<CustomModule> {
  let url: string;
  if (isPathType(type)) {
    url = pathToFileURL(resolve(baseDir, type)).href;
  } else {
    try {
      url = pathToFileURL(createRequire(join(baseDir, 'noop.js')).resolve(type)).href;
    } catch {
      throw new Error(`no installed package '${type}'`);
    }
  }
  let mod: Record<string, unknown>;
  try {
    mod = await importModule(url);
  } catch (error) {
    throw new Error(`cannot load ${type}: ${(error as Error).message.split('\n')[0]}`);
  }
  if (typeof mod.default !== 'function')
    throw new Error(`${type} has no default export; export the unit's factory as default`);
  const schema = mod.schema as CustomModule['schema'];
  return {
    factory: mod.default as CustomModule['factory'],
    ...(schema && typeof schema.safeParse === 'function' ? { schema } : {}),
  };
}
