/**
 * The parts of the yaml package malist calls, loaded the first time one is called. `malist
 * receive` reads its configuration from the check cache (config/check-cache.ts) and a list's
 * members from their plain value, so most mails need no YAML parser: receive's script holds
 * the package as a module initialized by this first call (scripts/build.js turns it into the
 * script's own `require`), so a mail from the cache never runs its top level. A mail that
 * needs it (the first after an edit, a subscription) initializes it then, from the script:
 * loaded from node_modules instead, its ~80 files cost that mail ~55 ms more.
 */
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import { once } from '../mail/lazy.ts';

let loaded = false;
const yaml = once(() => {
  loaded = true;
  return createRequire(import.meta.url)('yaml') as typeof Yaml;
});

/** True once this process has loaded the package (tests: a receive from the check cache does not). */
export function yamlLoaded(): boolean {
  return loaded;
}

export const isMap = ((node: unknown) => yaml().isMap(node)) as typeof Yaml.isMap;
export const isPair = ((node: unknown) => yaml().isPair(node)) as typeof Yaml.isPair;
export const isScalar = ((node: unknown) => yaml().isScalar(node)) as typeof Yaml.isScalar;
export const isSeq = ((node: unknown) => yaml().isSeq(node)) as typeof Yaml.isSeq;
export const parseDocument: typeof Yaml.parseDocument = (source, options) =>
  yaml().parseDocument(source, options);
export const stringify = ((value: unknown, options?: Yaml.ToStringOptions) =>
  yaml().stringify(value, options)) as typeof Yaml.stringify;

/** A new LineCounter (the offsets of a text's lines, for positions). */
export function newLineCounter(): Yaml.LineCounter {
  return new (yaml().LineCounter)();
}
