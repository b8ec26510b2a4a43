import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { deferred } from './deferred-option.ts';
import { once } from './lazy.ts';

/** A section as config/schema.ts writes one, and a counter of its builds. */
function section() {
  let builds = 0;
  const build = () => {
    builds++;
    return z.strictObject({ size: z.number().positive(), name: z.string().min(1).optional() });
  };
  return { build, builds: () => builds };
}

describe('deferred(): an optional key whose schema is built when a value is there', () => {
  it('an absent key builds nothing, however often the mapping is parsed', () => {
    const s = section();
    const schema = z.strictObject({ a: z.string(), opt: deferred(s.build) });
    for (let i = 0; i < 3; i++) expect(schema.parse({ a: 'x' })).toEqual({ a: 'x' });
    expect(s.builds()).toBe(0);
    expect(schema.parse({ a: 'x', opt: { size: 1 } })).toEqual({ a: 'x', opt: { size: 1 } });
    expect(schema.parse({ a: 'y', opt: { size: 2 } })).toEqual({ a: 'y', opt: { size: 2 } });
    expect(s.builds()).toBe(1);
  });

  it('reports what .optional() reports: the same issues, paths and messages', () => {
    const eager = z.strictObject({ opt: section().build().optional() });
    const lazy = z.strictObject({ opt: deferred(section().build) });
    for (const value of [
      { opt: { size: -1, nme: 'x' } },
      { opt: { name: '' } },
      { opt: null },
      { opt: 'text' },
      { opt: [] },
      {},
      { opt: { size: 3 }, other: 1 },
    ]) {
      const a = eager.safeParse(value);
      const b = lazy.safeParse(value);
      expect(b.success, JSON.stringify(value)).toBe(a.success);
      expect(b.error?.issues, JSON.stringify(value)).toEqual(a.error?.issues);
      expect(b.data).toEqual(a.data);
    }
  });

  it('nested, in arrays and async: paths keep every level', async () => {
    const inner = deferred(() => z.strictObject({ port: z.number().int() }));
    const schema = z.strictObject({ servers: z.array(z.strictObject({ tls: inner })) });
    const r = await schema.safeParseAsync({ servers: [{}, { tls: { port: 1.5 } }] });
    expect(r.error?.issues.map((i) => [i.path, i.code])).toEqual([
      [['servers', 1, 'tls', 'port'], 'invalid_type'],
    ]);
  });

  it('its def unwraps to the built schema, as an optional does (config/issues.ts reads it)', () => {
    const s = section();
    const key = deferred(s.build);
    const def = key._zod.def as unknown as { type: string; innerType: z.ZodType };
    expect(def.type).toBe('deferred');
    expect(s.builds()).toBe(0);
    expect(Object.keys((def.innerType as z.ZodObject).shape)).toEqual(['size', 'name']);
    expect(key.unwrap()).toBe(def.innerType);
    expect(s.builds()).toBe(1);
  });

  it('types: z.infer is that of .optional()', () => {
    const build = () => z.strictObject({ size: z.number(), name: z.string().optional() });
    const lazy = z.strictObject({ opt: deferred(build) });
    const eager = z.strictObject({ opt: build().optional() });
    expectTypeOf<z.infer<typeof lazy>>().toEqualTypeOf<z.infer<typeof eager>>();
    expectTypeOf<z.input<typeof lazy>>().toEqualTypeOf<z.input<typeof eager>>();
  });
});

describe('once()', () => {
  it('makes its value on the first call and hands the same one after', () => {
    let made = 0;
    const get = once(() => ({ n: ++made }));
    expect(made).toBe(0);
    expect(get()).toBe(get());
    expect(made).toBe(1);
  });
});
