/**
 * The loader registries the composition root plans with (each unit imported only when a
 * configuration names it) hold the same types as the eager registries the package exports,
 * and each loader gives that same module.
 */
import { describe, expect, it } from 'vitest';
import { distributors } from '../../src/distributors/index.ts';
import { distributorLoaders } from '../../src/distributors/loaders.ts';
import { fetchers } from '../../src/fetchers/index.ts';
import { fetcherLoaders } from '../../src/fetchers/loaders.ts';
import { reactors } from '../../src/reactors/index.ts';
import { reactorLoaders } from '../../src/reactors/loaders.ts';

const pairs = [
  ['fetchers', fetchers, fetcherLoaders],
  ['distributors', distributors, distributorLoaders],
  ['reactors', reactors, reactorLoaders],
] as const;

describe('unit loaders', () => {
  for (const [kind, eager, loaders] of pairs) {
    it(`${kind}: the same types, each loading the registered module`, async () => {
      expect(Object.keys(loaders).sort()).toEqual(Object.keys(eager).sort());
      for (const [type, load] of Object.entries(loaders)) {
        const mod = await (load as () => Promise<{ default: unknown; schema?: unknown }>)();
        const registered = (eager as Record<string, { default: unknown; schema?: unknown }>)[type]!;
        expect(mod.default, type).toBe(registered.default);
        expect(mod.schema, type).toBe(registered.schema);
      }
    });
  }
});
