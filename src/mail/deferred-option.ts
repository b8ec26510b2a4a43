/**
 * An optional YAML key whose schema is built the first time a value is written for it.
 *
 * A process per mail (`malist receive`) loads every schema module, and zod builds each
 * schema object eagerly: every `.optional()`, `.min()`, `.int()` is a new object (zod's
 * schemas are immutable, so a check clones). One receive built 813 of them at ~44 µs each
 * with their garbage and the memory they touch, ~25 ms of CPU, most for sections a plain
 * configuration never writes (storage, web, DKIM, TLS, retry …). A deferred key is one
 * object until the YAML has it.
 *
 * It is a `.optional()` in every way a reader can tell: absent, it passes without building
 * anything; present, the built schema checks it with the caller's payload, so its issues keep
 * their paths, messages and the object's key prefix. Its `def` has an `innerType` that builds
 * on first read, so config/issues.ts's walk for the allowed keys (did-you-mean) still sees the
 * mapping. `z.ZodOptional<T>` is its type: `z.infer` of a schema is the same with it.
 *
 * Its `def.type` is `deferred`, not `optional`: zod's memoizer walks a mapping's schemas on
 * its first parse (is it recursive?) and reads an optional's `innerType`, which would build
 * every deferred key at once; a kind it does not know it takes for a leaf without reading
 * its accessors. So: not for a recursive schema.
 *
 * Not `z.lazy(build).optional()`: `$ZodOptional` reads its inner's `optin` even for an
 * absent value, and `$ZodLazy` answers `optin` by building its inner, so every parse would
 * build. Not for an inner with `.default()` or `.prefault()`, whose `optin` a real
 * `.optional()` honours by substituting the default for absence: this one never builds to
 * ask, so it never substitutes.
 */
import { z } from 'zod';
import type * as core from 'zod/v4/core';
import { once } from './lazy.ts';

/** The `def.type` of a deferred key (config/issues.ts unwraps it as it does `optional`). */
export const DEFERRED = 'deferred';

/** The `def` of a deferred key: its `innerType` built on first read. */
interface DeferredDef extends Omit<core.$ZodTypeDef, 'type'> {
  type: typeof DEFERRED;
  readonly innerType: core.$ZodType;
}

let built = 0;

/** How many deferred schemas this process has built (tests: a section not written builds none). */
export function deferredBuilt(): number {
  return built;
}

/**
 * The class of a deferred key, made on first use: `z.core` is read only when a schema is
 * built, so a process that builds none (`malist receive` from its check cache) never loads
 * zod (receive's script loads it on demand: scripts/build.js).
 */
const ZodDeferredOptional = once(() =>
  z.core.$constructor(
    'ZodDeferredOptional',
    (inst: z.ZodType & { unwrap(): core.$ZodType }, def: DeferredDef) => {
      // zod's def types name its own kinds; this one it walks as a leaf (above).
      z.ZodType.init(inst, def as unknown as core.$ZodTypeDef);
      // Own properties, not zod's lazy getters: an object reads both for every key it parses.
      inst._zod.optin = 'optional';
      inst._zod.optout = 'optional';
      inst._zod.parse = (payload, ctx) =>
        payload.value === undefined ? payload : def.innerType._zod.run(payload, ctx);
      inst.unwrap = () => def.innerType;
    },
  ),
);

/** `build().optional()`, with `build` run the first time a value is there to check (or the def is read). */
export function deferred<T extends z.ZodType>(build: () => T): z.ZodOptional<T> {
  const inner = once(() => {
    built++;
    return build();
  });
  const def: DeferredDef = {
    type: DEFERRED,
    get innerType() {
      return inner();
    },
  };
  return new (ZodDeferredOptional())(def) as unknown as z.ZodOptional<T>;
}

let lazyBuilt = 0;

/** How many lazySchema() schemas this process has built (tests: a receive the check cache answers builds none). */
export function lazySchemasBuilt(): number {
  return lazyBuilt;
}

/**
 * `build()`, made the first time anything reads it: a stand-in with the schema's type that
 * forwards every read (`safeParse`, `_zod`, `optional()` …) to the schema, built then. A
 * module's schemas then cost `malist receive` nothing when it parses nothing: the check
 * cache answers for the files it has seen (config/check-cache.ts). Zod itself reads a
 * schema only through its properties (`_zod`, its traits for `instanceof`), so the stand-in
 * serves inside another schema's mapping as well as at the top; its first read in a parse
 * builds it.
 */
export function lazySchema<T extends z.ZodType>(build: () => T): T {
  const made = once(() => {
    lazyBuilt++;
    return build();
  });
  return new Proxy({} as T, {
    get: (_target, key) => Reflect.get(made(), key, made()),
    set: (_target, key, value) => Reflect.set(made(), key, value),
    defineProperty: (_target, key, descriptor) => Reflect.defineProperty(made(), key, descriptor),
    has: (_target, key) => Reflect.has(made(), key),
    getPrototypeOf: () => Object.getPrototypeOf(made()),
    ownKeys: () => Reflect.ownKeys(made()),
    getOwnPropertyDescriptor: (_target, key) => {
      const found = Reflect.getOwnPropertyDescriptor(made(), key);
      return found && { ...found, configurable: true };
    },
  });
}
