/**
 * zod's issues turned into problems an operator can act on: the file, line and column the
 * value was written at, the key, what was expected, what was there, and a fix.
 */
import type { z } from 'zod';
import { DEFERRED } from '../mail/deferred-option.ts';
import { type ConfigProblem, didYouMean, keyPath, shown } from './problem.ts';
import { KEY_HINTS } from './schema.ts';
import { isSecretKey } from './secrets.ts';
import type { YamlSource } from './source.ts';

/**
 * Where an option (by its path inside the checked options) was written: the unit's own
 * mapping, a `servers:` entry it names, `unit_options:`, or `queue:` defaults.
 */
export type Origin = (path: readonly PropertyKey[]) => { source: YamlSource; path: PropertyKey[] };

/** The value at `path` inside `root`. */
export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const segment of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[segment];
  }
  return node;
}

/** The keys a strict object schema allows at `path`, when it can be told. */
function allowedKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let node: unknown = schema;
  const unwrap = (n: unknown): unknown => {
    for (let i = 0; i < 10; i++) {
      const def = (n as { _zod?: { def?: { type?: string; innerType?: unknown; in?: unknown } } })
        ?._zod?.def;
      if (
        def?.type === 'optional' ||
        def?.type === DEFERRED || // an optional key built on first use: reading innerType builds it
        def?.type === 'default' ||
        def?.type === 'nullable'
      )
        n = def.innerType;
      else if (def?.type === 'pipe')
        n = def.in; // .transform(): the keys are the input's
      else break;
    }
    return n;
  };
  for (const segment of path) {
    node = unwrap(node);
    const def = (node as { _zod?: { def?: Record<string, unknown> } })?._zod?.def;
    if (!def) return [];
    if (def.type === 'object') node = (def.shape as Record<string, unknown>)[String(segment)];
    else if (def.type === 'array') node = def.element;
    else if (def.type === 'record') node = def.valueType;
    else return [];
  }
  const def = (unwrap(node) as { _zod?: { def?: Record<string, unknown> } })?._zod?.def;
  return def?.type === 'object' ? Object.keys(def.shape as object) : [];
}

/** How to write a value of `type` in YAML, for fixes. */
function howToWrite(type: string, key: string): string {
  switch (type) {
    case 'number':
    case 'int':
      return `write a number without quotes, e.g. ${key}: 1000`;
    case 'boolean':
      return `write true or false, e.g. ${key}: true`;
    case 'array':
      return `write a list: ${key}: [a, b] or one "- item" a line below it`;
    case 'object':
      return `write a mapping: indented "key: value" lines below ${key}:`;
    default:
      return `write ${article(type)} here`;
  }
}

function article(type: string): string {
  if (type === 'array') return 'a list';
  if (type === 'object') return 'a mapping';
  if (type === 'int') return 'a whole number';
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/**
 * The problems of a failed parse. `prefix` is where the checked value sits in the file
 * (a unit's options inside `fetch.0`), `root` the file's whole parsed value.
 */
export function problemsOf(
  error: z.ZodError,
  written: YamlSource,
  schema: z.ZodType,
  prefix: readonly PropertyKey[] | Origin = [],
): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const origin: Origin =
    typeof prefix === 'function' ? prefix : (p) => ({ source: written, path: [...prefix, ...p] });
  for (const issue of error.issues) {
    // A `missing` key is reported at its mapping, which may sit where the key would be written.
    const { source, path } = origin(issue.path);
    const root = source.value;
    const value = valueAt(root, path);
    const base = { file: source.file, key: keyPath(path) };
    switch (issue.code) {
      case 'unrecognized_keys':
        for (const key of issue.keys) {
          const at = origin([...issue.path, key]);
          const where = at.source.locate(at.path, 'key');
          // Secrets are written as NAME_env / NAME_file, never as NAME.
          const known = allowedKeys(schema, issue.path).flatMap((k) =>
            isSecretKey(k) ? [`${k}_env`, `${k}_file`] : [k],
          );
          const near = didYouMean(key, known);
          out.push({
            ...base,
            file: at.source.file,
            ...where,
            key: keyPath(at.path),
            message: 'unknown key',
            fix:
              KEY_HINTS[key] ??
              (near
                ? `did you mean '${near}'?`
                : `remove it; known keys here: ${known.join(', ') || '(none)'}`),
          });
        }
        break;
      case 'invalid_value': {
        const values = issue.values.map(String);
        const near = typeof value === 'string' ? didYouMean(value, values) : undefined;
        out.push({
          ...base,
          ...source.locate(path),
          message: `expected one of ${values.join(' | ')}, got ${shown(value)}`,
          ...(near ? { fix: `did you mean '${near}'?` } : {}),
        });
        break;
      }
      case 'invalid_type':
        if (path.length === 0) {
          out.push({
            ...base,
            line: 1,
            col: 1,
            message: `expected ${article(issue.expected)} of settings, got ${shown(value)}`,
            fix: 'write key: value lines (see examples/ and lists/)',
          });
        } else if (value === undefined) {
          const key = String(path[path.length - 1]);
          out.push({
            ...base,
            ...source.locate(path.slice(0, -1)),
            message: `missing; expected ${article(issue.expected)}`,
            fix: isSecretKey(key)
              ? `add ${key}_env: VARIABLE (or ${key}_file: PATH); never the ${key} itself`
              : `add ${key}: to this mapping`,
          });
        } else {
          out.push({
            ...base,
            ...source.locate(path),
            message: `expected ${article(issue.expected)}, got ${shown(value)}`,
            fix:
              issue.expected === 'string' && (Array.isArray(value) || typeof value === 'object')
                ? 'quote the value: YAML reads [..] as a list and {..} as a mapping, e.g. "[Red] "'
                : howToWrite(issue.expected, String(path[path.length - 1] ?? 'key')),
          });
        }
        break;
      case 'too_small':
        out.push({
          ...base,
          ...source.locate(path),
          message:
            issue.origin === 'array'
              ? `expected at least ${String(issue.minimum)} entr${issue.minimum === 1 ? 'y' : 'ies'}`
              : issue.origin === 'string'
                ? 'must not be empty'
                : `expected at least ${String(issue.minimum)}, got ${shown(value)}`,
          fix:
            issue.origin === 'array'
              ? 'add an entry, or remove the key'
              : 'give a value, or remove the key',
        });
        break;
      case 'too_big':
        out.push({
          ...base,
          ...source.locate(path),
          message: `expected at most ${String(issue.maximum)}, got ${shown(value)}`,
          fix: `use a value of at most ${String(issue.maximum)}`,
        });
        break;
      default: {
        const what = issue.message.replace(/^Invalid input: /, '');
        out.push(
          value === undefined && path.length > 0
            ? {
                ...base,
                ...source.locate(path.slice(0, -1)),
                message: `missing; ${what}`,
                fix: `add ${String(path[path.length - 1])}: to this mapping`,
              }
            : {
                ...base,
                ...source.locate(path),
                message: `${what}, got ${shown(value)}`,
                fix: formatFix(issue),
              },
        );
      }
    }
  }
  return out;
}

/**
 * The fix for a value zod refused without a more telling code: a string not of its format
 * (a URL, or a pattern whose message names the form), else the documented keys.
 */
function formatFix(issue: z.core.$ZodIssue): string {
  if (issue.code !== 'invalid_format')
    return 'see the documented keys in examples/malist.yaml and lists/';
  if (issue.format === 'url')
    return 'write the whole URL with its scheme, e.g. https://lists.example.com';
  return 'write the value in the form the message names (quote it if it has : or #)';
}

/** Parses `value` (found at `prefix` in `source`) with `schema`; problems instead of throwing. */
export function check<S extends z.ZodType>(
  schema: S,
  value: unknown,
  source: YamlSource,
  prefix: readonly PropertyKey[] = [],
): { data?: z.output<S>; problems: ConfigProblem[] } {
  const result = schema.safeParse(value);
  if (result.success) return { data: result.data, problems: [] };
  return { problems: problemsOf(result.error, source, schema, prefix) };
}
