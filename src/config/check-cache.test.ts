import {
  chmodSync,
  chownSync,
  mkdirSync,
  readdirSync,
  statSync,
  symlinkSync,
  utimesSync,
} from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cacheDir, checkedThrough, openCheckCache, pruneCache, trustedDir } from './check-cache.ts';

const made: string[] = [];
afterAll(async () => {
  for (const dir of made) await rm(dir, { recursive: true, force: true });
});

async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'malist-check-cache-'));
  made.push(dir);
  return dir;
}

describe('openCheckCache', () => {
  it('gives back what was kept, for the same build, kind and input only', async () => {
    const dir = join(await scratch(), 'cache');
    const cache = openCheckCache('build-1', dir);
    expect(cache.get('list', '{"a":1}')).toBeUndefined();
    cache.put('list', '{"a":1}', { a: 1, b: [true, null, 'x'] });
    expect(cache.get('list', '{"a":1}')).toEqual({ a: 1, b: [true, null, 'x'] });
    expect(cache.get('list', '{"a":2}')).toBeUndefined();
    expect(cache.get('main', '{"a":1}')).toBeUndefined();
    expect(openCheckCache('build-2', dir).get('list', '{"a":1}')).toBeUndefined();
    expect(openCheckCache('build-1', dir).get('list', '{"a":1}')).toEqual({
      a: 1,
      b: [true, null, 'x'],
    });
    // Made 0700, each entry 0600, and no temporary file left behind.
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const names = readdirSync(dir);
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/^[0-9a-f]{64}\.json$/);
    expect(statSync(join(dir, names[0]!)).mode & 0o777).toBe(0o600);
  });

  it('keeps only what JSON holds exactly', async () => {
    const dir = join(await scratch(), 'cache');
    const cache = openCheckCache('b', dir);
    cache.put('yaml', 'x: .inf', { x: Number.POSITIVE_INFINITY });
    cache.put('yaml', 're', { pattern: /a/ });
    cache.put('yaml', 'fn', { f: () => 1 });
    cache.put('yaml', 'undefined', { x: undefined });
    cache.put('yaml', 'minus zero', { x: -0 });
    cache.put('yaml', 'date', { x: new Date(0) });
    // biome-ignore lint/suspicious/noSparseArray: a hole is what is checked here
    cache.put('yaml', 'hole', { x: [1, , 3] });
    cache.put('yaml', 'class', { x: new (class Options {})() });
    cache.put('yaml', 'symbol', { [Symbol('s')]: 1 });
    expect(readdirSync(dir)).toEqual([]);
    cache.put('yaml', 'null', null);
    expect(cache.get('yaml', 'null')).toBeNull();
  });

  it('reads a damaged entry as a miss', async () => {
    const dir = join(await scratch(), 'cache');
    const cache = openCheckCache('b', dir);
    cache.put('yaml', 'a: 1', { a: 1 });
    const [name] = readdirSync(dir);
    await import('node:fs/promises').then((fs) => fs.writeFile(join(dir, name!), '{"val'));
    expect(cache.get('yaml', 'a: 1')).toBeUndefined();
  });

  it('uses no directory others may write to, nor a link, nor one it cannot make', async () => {
    const base = await scratch();
    const open = join(base, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    expect(trustedDir(open)).toBe(false);
    const cache = openCheckCache('b', open);
    cache.put('yaml', 'a: 1', { a: 1 });
    expect(readdirSync(open)).toEqual([]);
    expect(cache.get('yaml', 'a: 1')).toBeUndefined();

    const group = join(base, 'group');
    mkdirSync(group);
    chmodSync(group, 0o770);
    expect(trustedDir(group)).toBe(false);

    const real = join(base, 'real');
    mkdirSync(real, { mode: 0o700 });
    const link = join(base, 'link');
    symlinkSync(real, link);
    expect(trustedDir(real)).toBe(true);
    expect(trustedDir(link)).toBe(false);

    expect(trustedDir(join(base, 'missing', 'deeper'))).toBe(false);

    // Another user's directory, even one only its owner may write to (root can make one).
    if (process.getuid!() === 0) {
      const theirs = join(base, 'theirs');
      mkdirSync(theirs, { mode: 0o700 });
      chownSync(theirs, 65534, 65534);
      expect(trustedDir(theirs)).toBe(false);
    }
  });

  it('is off with MALIST_CACHE_DIR=none, elsewhere with a path, else per user in the temporary directory', () => {
    expect(cacheDir({ MALIST_CACHE_DIR: 'none' })).toBeUndefined();
    expect(cacheDir({ MALIST_CACHE_DIR: '/var/cache/malist' })).toBe('/var/cache/malist');
    expect(cacheDir({})).toBe(join(tmpdir(), `malist-${process.getuid!()}`));
  });

  it('prunes entries not written for 30 days', async () => {
    const dir = join(await scratch(), 'cache');
    const cache = openCheckCache('b', dir);
    cache.put('yaml', 'old', { old: true });
    cache.put('yaml', 'new', { old: false });
    const day = 24 * 3600;
    const now = Date.now();
    for (const name of readdirSync(dir)) {
      const text = await readFile(join(dir, name), 'utf8');
      if (text.includes('"old":true'))
        utimesSync(join(dir, name), now / 1000 - 31 * day, now / 1000 - 31 * day);
    }
    pruneCache(dir, now);
    expect(cache.get('yaml', 'old')).toBeUndefined();
    expect(cache.get('yaml', 'new')).toEqual({ old: false });
  });
});

describe('checkedThrough', () => {
  it('checks once; the second time the kept answer is given and nothing is checked', async () => {
    const cache = openCheckCache('b', join(await scratch(), 'cache'));
    let checks = 0;
    const check = () => {
      checks++;
      return { port: 25, host: 'mx' };
    };
    expect(checkedThrough(cache, 'unit:smtp', { host: 'mx' }, check)).toEqual({
      port: 25,
      host: 'mx',
    });
    expect(checkedThrough(cache, 'unit:smtp', { host: 'mx' }, check)).toEqual({
      port: 25,
      host: 'mx',
    });
    expect(checks).toBe(1);
    // Another input, another kind: checked.
    checkedThrough(cache, 'unit:smtp', { host: 'mx2' }, check);
    checkedThrough(cache, 'unit:pop3', { host: 'mx' }, check);
    expect(checks).toBe(3);
  });

  it('keeps no failed check', async () => {
    const dir = join(await scratch(), 'cache');
    const cache = openCheckCache('b', dir);
    let checks = 0;
    const failing = () => {
      checks++;
      return undefined;
    };
    checkedThrough(cache, 'list', { address: 'not an address' }, failing);
    checkedThrough(cache, 'list', { address: 'not an address' }, failing);
    expect(checks).toBe(2);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('keeps the answer for a value holding a secret without the secret, and gives it back with it', async () => {
    const dir = join(await scratch(), 'cache');
    const cache = openCheckCache('b', dir);
    let checks = 0;
    // As the SMTP schema does: the password moves into `auth`, next to the user.
    const smtp = (v: { host: string; user: string; password: string }) => () => {
      checks++;
      return { host: v.host, auth: { user: v.user, pass: v.password }, echo: [v.password] };
    };
    const first = { host: 'mx', user: 'list', password: 's3cret-Pa55' };
    const want = { host: 'mx', auth: { user: 'list', pass: 's3cret-Pa55' }, echo: ['s3cret-Pa55'] };
    expect(checkedThrough(cache, 'unit:smtp', first, smtp(first))).toEqual(want);
    expect(checkedThrough(cache, 'unit:smtp', first, smtp(first))).toEqual(want);
    expect(checks).toBe(1);
    // Another password: another check, its own answer.
    const second = { ...first, password: 'an0ther-Pa55' };
    expect(checkedThrough(cache, 'unit:smtp', second, smtp(second))).toEqual({
      host: 'mx',
      auth: { user: 'list', pass: 'an0ther-Pa55' },
      echo: ['an0ther-Pa55'],
    });
    expect(checks).toBe(2);
    // The secret of a PostgreSQL url, the whole url.
    const storage = { storage: { type: 'postgres', url: 'postgres://u:pw@h/db' } };
    const same = () => {
      checks++;
      return structuredClone(storage);
    };
    checkedThrough(cache, 'main', storage, same);
    expect(checkedThrough(cache, 'main', storage, same)).toEqual(storage);
    expect(checks).toBe(3);
    // No file holds a secret.
    expect(readdirSync(dir)).toHaveLength(3);
    for (const name of readdirSync(dir)) {
      const text = await readFile(join(dir, name), 'utf8');
      expect(text).not.toMatch(/s3cret|an0ther|u:pw@/);
    }
    // An answer with a secret inside a longer string cannot be told apart: not kept.
    const dsn = { url_user: 'u', password: 'hunter22' };
    const built = () => {
      checks++;
      return { dsn: `smtp://u:${dsn.password}@mx` };
    };
    checkedThrough(cache, 'unit:x', dsn, built);
    checkedThrough(cache, 'unit:x', dsn, built);
    expect(checks).toBe(5);
    expect(readdirSync(dir)).toHaveLength(3);
    // An unresolved secret ('' stands in, its problem reported) is no secret.
    checkedThrough(cache, 'main', { servers: { out: { password: '' } } }, () => ({ ok: true }));
    expect(readdirSync(dir)).toHaveLength(4);
  });

  it('without a cache, checks every time', () => {
    let checks = 0;
    checkedThrough(undefined, 'list', {}, () => ++checks);
    checkedThrough(undefined, 'list', {}, () => ++checks);
    expect(checks).toBe(2);
  });
});
