/**
 * One YAML file with its positions: parse errors become problems with line and column, and
 * any key path of the parsed value can be traced back to where it was written.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, relative } from 'node:path';
import type { Document, Node } from 'yaml';
import { once } from '../mail/lazy.ts';
import {
  isMap,
  isPair,
  isScalar,
  isSeq,
  newLineCounter,
  parseDocument,
} from '../members/yaml-package.ts';
import type { CheckCache } from './check-cache.ts';
import type { ConfigProblem } from './problem.ts';

/** A parsed YAML file. `value` is its plain data (undefined when it could not be parsed). */
export interface YamlSource {
  /** The path as shown in messages. */
  file: string;
  /** The absolute path. */
  path: string;
  /** The text it was parsed from. */
  text: string;
  value: unknown;
  problems: ConfigProblem[];
  /**
   * The text and its parsed document, when it parsed without a problem: a member store of
   * this file (its `members:`) starts from them instead of parsing a big list again.
   */
  parsed?: { text: string; doc: Document };
  /** Where `path` was written: the key for `at: 'key'`, else the value. Falls back to the nearest parent. */
  locate(path: readonly PropertyKey[], at?: 'key' | 'value'): { line: number; col: number };
}

/** The path as an operator would type it: relative to the working directory when inside it. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

const PARSE_FIXES: Record<string, string> = {
  DUPLICATE_KEY: 'remove one of the two entries (YAML keeps neither silently)',
  BAD_INDENT: 'indent nested keys by the same number of spaces as their siblings',
  TAB_AS_INDENT: 'indent with spaces, not tabs',
  MISSING_CHAR: 'close the quote or bracket opened here',
  BLOCK_AS_IMPLICIT_KEY:
    'check the indentation against the lines above: items of one list start in the same column',
  MULTILINE_IMPLICIT_KEY:
    'a key and its value go on one line: check the indentation, or quote the value',
  MISSING_MAP_VALUE: 'put a space after the colon, or quote the value',
  UNEXPECTED_TOKEN: 'check the quoting and indentation on this line',
};

/** The document of `text` and the positions of its lines. */
function parseText(text: string) {
  const lineCounter = newLineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  return { doc, lineCounter };
}

/** Where `path` was written in `doc` (see YamlSource.locate). */
function locateIn(
  { doc, lineCounter }: ReturnType<typeof parseText>,
  path: readonly PropertyKey[],
  at: 'key' | 'value',
): { line: number; col: number } {
  let node: unknown = doc.contents;
  let offset = (doc.contents as Node | null)?.range?.[0] ?? 0;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment),
      );
      if (!pair) break;
      const keyNode = pair.key as Node;
      if (last && at === 'key') {
        offset = keyNode.range?.[0] ?? offset;
        break;
      }
      node = pair.value;
      offset = (pair.value as Node | null)?.range?.[0] ?? keyNode.range?.[0] ?? offset;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment] as Node | undefined;
      if (!item) break;
      node = item;
      offset = item.range?.[0] ?? offset;
    } else break;
  }
  const pos = lineCounter.linePos(offset);
  return { line: pos.line, col: pos.col };
}

/**
 * Parses `text` (read from `path`); never throws. With `cache`, the plain value of a text
 * that parsed without a problem is kept (config/check-cache.ts), and a text found there is
 * not parsed: its document is made only when something asks for it (`locate` for a
 * problem's line, `parsed` for a member store's edit).
 */
export function parseYaml(text: string, path: string, cache?: CheckCache): YamlSource {
  const file = displayPath(path);
  const known = cache?.get('yaml', text);
  if (known !== undefined) {
    const made = once(() => parseText(text));
    return {
      file,
      path,
      text,
      value: known,
      problems: [],
      get parsed() {
        return { text, doc: made().doc };
      },
      locate: (p, at = 'value') => locateIn(made(), p, at),
    };
  }
  const parsed = parseText(text);
  const { doc, lineCounter } = parsed;
  // The first syntax error only: the ones after it are mostly its echoes.
  const problems: ConfigProblem[] = doc.errors.slice(0, 1).map((error) => {
    const pos = lineCounter.linePos(error.pos[0]);
    const first = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    return {
      file,
      line: pos.line,
      col: pos.col,
      key: '',
      message: `YAML syntax: ${first}`,
      fix: PARSE_FIXES[error.code] ?? 'check the YAML syntax on this line',
    };
  });
  const value = problems.length === 0 ? doc.toJS({ maxAliasCount: 100 }) : undefined;
  if (cache && problems.length === 0 && value !== undefined) cache.put('yaml', text, value);
  return {
    file,
    path,
    text,
    value,
    problems,
    ...(problems.length === 0 ? { parsed: { text, doc } } : {}),
    locate: (p, at = 'value') => locateIn(parsed, p, at),
  };
}

/**
 * A problem at `path` of `source` whose line and column are found when first read: a warning
 * or a deprecation `malist receive` never prints then costs it no parse of a file the check
 * cache answered (config/check-cache.ts). Not to be spread before it is read.
 */
export function problemAt(
  source: YamlSource,
  path: readonly PropertyKey[],
  fields: Omit<ConfigProblem, 'line' | 'col'>,
  at: 'key' | 'value' = 'value',
): ConfigProblem {
  const where = once(() => source.locate(path, at));
  return {
    ...fields,
    get line() {
      return where().line;
    },
    get col() {
      return where().col;
    },
  };
}

/** Reads and parses a YAML file; an unreadable file is one problem. */
export async function readYaml(path: string, cache?: CheckCache): Promise<YamlSource> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const source = parseYaml('', path);
    source.problems.push({
      file: source.file,
      line: 0,
      col: 0,
      key: '',
      message: `cannot read the file: ${(error as Error).message}`,
      fix: 'check the path and its permissions',
    });
    return source;
  }
  return parseYaml(text, path, cache);
}
