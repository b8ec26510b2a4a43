/**
 * What reading the configuration costs `malist receive` once, not at every mail: the plain
 * value of each YAML file and the checked options of malist.yaml, of each list and of each
 * built-in unit, kept by the text or value they came from. A process per mail (Postfix's
 * pipe, an alias, procmail) reads the same files for every mail; parsing them (yaml) and
 * checking them (zod, and its schemas built on first use) was ~30 ms of the ~130 ms a
 * receive spent above Node's own start (`npm run bench -- --intake`, BENCHMARKS.md).
 *
 * An entry is found by a SHA-256 of the build, its kind and its input (a file's text, a
 * checked value): an edited file or a changed default is another key, never a stale answer,
 * and a new build (another schema) reads none of the old entries. Only what succeeded is
 * kept: a file with a problem is parsed and checked again, so its messages are the loader's
 * own. Nothing secret is written: a check whose input holds a resolved secret is kept with
 * a mark in the secret's place (checkedThrough), and YAML never holds one (config/secrets.ts
 * refuses it).
 *
 * The entries live in a directory of the user malist runs as, made 0700: `MALIST_CACHE_DIR`,
 * else `malist-UID` in the system's temporary directory. A directory that is not this
 * user's own, or that others may write to, is not used (an entry decides which units a
 * mail runs through): the mail is then read the slow way, as it is without a cache.
 * `MALIST_CACHE_DIR=none` turns it off. An entry that cannot be read or written is a miss.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from '../mail/lazy.ts';
import { secretsIn } from './secrets.ts';

export interface CheckCache {
  /** The value kept for `input` of `kind`, or undefined (a miss). */
  get(kind: string, input: string): unknown;
  /**
   * Keeps `value` for `input` of `kind` when JSON holds it exactly (plain data); never
   * throws.
   */
  put(kind: string, input: string, value: unknown): void;
}

/** Entries not written again for this long are removed (a configuration edited away). */
const KEEP_MS = 30 * 24 * 3600 * 1000;
/** One write in this many looks for such entries. */
const PRUNE_EVERY = 64;

/** The directory entries are kept in, or undefined when the environment turns the cache off. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dir = env.MALIST_CACHE_DIR;
  if (dir === 'none') return undefined;
  if (dir) return dir;
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  return uid === undefined ? undefined : join(tmpdir(), `malist-${uid}`);
}

/**
 * True when `dir` is this user's own directory and no one else may write to it (made 0700
 * when missing). Root may use a directory it owns; another user's never.
 */
export function trustedDir(dir: string): boolean {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return false;
  }
  try {
    const s = lstatSync(dir);
    const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
    return s.isDirectory() && s.uid === uid && (s.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/** Removes the entries of `dir` not written for KEEP_MS (30 days) before `now`. */
export function pruneCache(dir: string, now = Date.now()): void {
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.json')) continue;
    const path = join(dir, name);
    try {
      if (now - statSync(path).mtimeMs > KEEP_MS) unlinkSync(path);
    } catch {
      // Removed meanwhile by another process: nothing to do.
    }
  }
}

/**
 * The cache of `build` (an identity of the code: entries of another build are never read)
 * in `dir`; the directory is checked on first use, and a cache it fails is empty.
 */
export function openCheckCache(build: string, dir: string | undefined = cacheDir()): CheckCache {
  const ready = once(() => dir !== undefined && trustedDir(dir));
  const pathOf = (kind: string, input: string) =>
    join(
      dir!,
      `${createHash('sha256').update(build).update('\0').update(kind).update('\0').update(input).digest('hex')}.json`,
    );
  return {
    get(kind, input) {
      if (!ready()) return undefined;
      try {
        return (JSON.parse(readFileSync(pathOf(kind, input), 'utf8')) as { value: unknown }).value;
      } catch {
        return undefined;
      }
    },
    put(kind, input, value) {
      if (!ready()) return;
      // What JSON cannot hold as it is (Infinity, a binary scalar, a RegExp) is not kept.
      if (!plainData(value)) return;
      const text = JSON.stringify({ value });
      const path = pathOf(kind, input);
      const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      try {
        // Written whole, then renamed: a reader finds the old entry, none, or this one.
        writeFileSync(temp, text, { mode: 0o600 });
        renameSync(temp, path);
        if (Math.floor(Math.random() * PRUNE_EVERY) === 0) pruneCache(dir!);
      } catch {
        try {
          unlinkSync(temp);
        } catch {
          // Never written.
        }
      }
    },
  };
}

/**
 * True when JSON holds `value` exactly: strings, finite numbers (not -0), booleans, null, and
 * arrays (without holes) and plain objects (without undefined) of them. What JSON.stringify
 * would change or drop (Infinity, a Date, a RegExp, a function, a Uint8Array) is not.
 */
function plainData(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0);
    case 'object': {
      if (value === null) return true;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++)
          if (!(i in value) || !plainData(value[i])) return false;
        return true;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      if (Object.getOwnPropertySymbols(value).length > 0) return false;
      for (const v of Object.values(value)) if (!plainData(v)) return false;
      return true;
    }
    default:
      return false;
  }
}

/** `value` as JSON, when JSON holds it exactly (see plainData). */
function exactJson(value: unknown): string | undefined {
  return plainData(value) ? JSON.stringify(value) : undefined;
}

/** What stands for the `i`th secret of a checked value in a kept answer. */
const secretMark = (i: number) => `\u0000malist-secret:${i}\u0000`;

/**
 * `value` with each string equal to one of `secrets` replaced by its mark; undefined when a
 * string holds a secret within it (a URL made of a password: it could not be told apart).
 */
function withoutSecrets(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value === 'string') {
    const i = secrets.indexOf(value);
    if (i >= 0) return secretMark(i);
    return secrets.some((s) => value.includes(s)) ? undefined : value;
  }
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> | unknown[] = Array.isArray(value) ? [] : {};
  for (const [key, v] of Object.entries(value)) {
    const kept = withoutSecrets(v, secrets);
    if (kept === undefined) return undefined;
    (out as Record<string, unknown>)[key] = kept;
  }
  return out;
}

/** A kept answer with each mark replaced by the secret it stands for. */
function withSecrets(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value === 'string') {
    const m = /^\u0000malist-secret:(\d+)\u0000$/.exec(value);
    return m ? secrets[Number(m[1])] : value;
  }
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => withSecrets(v, secrets));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key] = withSecrets(v, secrets);
  return out;
}

/**
 * What `check` makes of `value` (undefined: it failed, its problems recorded by `check`), the
 * kept answer when `cache` has one for `value` of `kind`. A value JSON cannot hold exactly is
 * checked every time and not kept. A value holding resolved secrets (a password) is keyed
 * with them, so another password is another check, and its answer is kept without them:
 * each stands there as a mark, and the value's own secrets take their places again when the
 * answer is read (an answer that holds a secret within a longer string is not kept).
 */
export function checkedThrough<T>(
  cache: CheckCache | undefined,
  kind: string,
  value: unknown,
  check: () => T | undefined,
): T | undefined {
  const secrets = cache ? secretsIn(value) : [];
  const input = cache && !secrets.some((s) => s.includes('\u0000')) ? exactJson(value) : undefined;
  if (input !== undefined) {
    const kept = cache!.get(kind, input);
    if (kept !== undefined) return (secrets.length > 0 ? withSecrets(kept, secrets) : kept) as T;
  }
  const made = check();
  if (input !== undefined && made !== undefined) {
    const stored = secrets.length > 0 ? withoutSecrets(made, secrets) : made;
    if (stored !== undefined) cache!.put(kind, input, stored);
  }
  return made;
}
