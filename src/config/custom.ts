/**
 * Custom units: a `type:` that is a relative path (`./units/shout.ts`, resolved against the
 * YAML file that names it) or an installed package name. The module's default export is the
 * factory (for a pipeline unit: `(list, options) => Processor`); it may export `schema`
 * (anything with zod's `safeParse`) to have its options checked like a built-in unit's.
 */
import { createRequire } from 'node:module';
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
 * Registers tsx's TypeScript loader, once. tsx is an optional peer dependency: only a custom
 * unit written in TypeScript needs it, so a missing tsx is said in those words.
 */
function registerTsx(): Promise<void> {
  tsxRegistered ??= import('tsx/esm/api').then(
    ({ register }) => {
      register();
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

/**
 * Imports a module; a TypeScript file that Node cannot load as it is (malist running from
 * its compiled build, dist/, has no TypeScript loader) is loaded again through tsx's.
 */
async function importModule(url: string): Promise<Record<string, unknown>> {
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw error;
    await registerTsx();
    // A new URL: Node keeps the failed load of the old one in its module map.
    return (await import(`${url}?typescript`)) as Record<string, unknown>;
  }
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
