/**
 * Secrets and paths in unit options. A secret is never written in YAML: `password_env: VAR`
 * takes it from the environment, `password_file: PATH` from a file; either becomes the
 * unit's `password` option. A literal `password:` is refused with the way to fix it.
 * Keys naming files or directories (`dir`, `file`, `path`, `processed`, `…_dir`, `…_file`,
 * `…_path`) are resolved against the directory of the YAML file that wrote them.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { type ConfigProblem, keyPath } from './problem.ts';
import type { YamlSource } from './source.ts';

export const SECRET_KEYS = [
  'password',
  'pass',
  'secret',
  'token',
  'api_key',
  'secret_access_key',
  'signing_key',
] as const;
const SECRET = new RegExp(`(^|_)(${SECRET_KEYS.join('|')})$`);
/** True for keys that hold secrets (password, moderator_password, api_key …). */
export function isSecretKey(key: string): boolean {
  return SECRET.test(key);
}

/**
 * A secret by where it is: `storage: { url }` (a postgres:// URL may carry the password),
 * without making every `url` key (web.base_url, archive.url) one.
 */
function isSecretAt(path: readonly PropertyKey[], key: string): boolean {
  return SECRET.test(key) || (path.length === 1 && path[0] === 'storage' && key === 'url');
}

/**
 * The resolved secrets `value` (options as resolveOptions returns them) holds, in the order
 * of a walk of it: each non-empty string under a secret's key. The check cache keeps a
 * check's answer without them (config/check-cache.ts).
 */
export function secretsIn(value: unknown, path: readonly PropertyKey[] = []): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => secretsIn(v, [...path, i]));
  if (value === null || typeof value !== 'object') return [];
  const found: string[] = [];
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v === 'string') {
      if (v !== '' && isSecretAt(path, key)) found.push(v);
    } else found.push(...secretsIn(v, [...path, key]));
  }
  return found;
}

const PATH_KEY = /^(dir|file|path|processed|delivery_log)$|_(dir|file|path)$/;

export interface ResolveContext {
  source: YamlSource;
  /** The directory relative paths are resolved against. */
  baseDir: string;
  env: NodeJS.ProcessEnv;
}

/**
 * What a secret that could not be resolved becomes: its problem is reported where it was
 * written, and the unit's schema sees a value (no second, false "missing" error).
 */
const UNRESOLVED = '';

/** Why `file` cannot serve as a CA file (unreadable, no PEM certificate), or undefined. */
async function caFileProblem(
  file: string,
): Promise<Omit<ConfigProblem, 'file' | 'line' | 'col' | 'key'> | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    return {
      message: `cannot read the CA file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      fix: "put the PEM certificate of the CA that signed the server's certificate there (readable by the user malist runs as), or fix the path (relative to this YAML file)",
    };
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----'))
    return {
      message: `${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
      fix: 'point it at the CA certificate in PEM form (openssl x509 -in CA.der -inform der -out ca.pem converts DER)',
    };
  return undefined;
}

/** The env variable name an operator would pick for `key` at `path`. */
function suggestedVar(path: readonly PropertyKey[], key: string): string {
  const words = path.filter((p) => typeof p === 'string' && p !== 'servers') as string[];
  const stem = (words[words.length - 1] ?? 'malist').replace(/[^a-z0-9]+/gi, '_').toUpperCase();
  return `MALIST_${stem}_${key.toUpperCase()}`;
}

/** A copy of `value` (found at `path`) with secrets resolved and paths made absolute. */
export async function resolveOptions(
  value: unknown,
  path: readonly PropertyKey[],
  ctx: ResolveContext,
  problems: ConfigProblem[],
): Promise<unknown> {
  if (Array.isArray(value)) {
    return Promise.all(value.map((v, i) => resolveOptions(v, [...path, i], ctx, problems)));
  }
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const here = [...path, key];
    const at = (which: 'key' | 'value') => ({
      file: ctx.source.file,
      ...ctx.source.locate(here, which),
      key: keyPath(here),
    });
    if (isSecretAt(path, key)) {
      const name = suggestedVar(path, key);
      out[key] = UNRESOLVED; // reported here: no second "missing" for the unit
      problems.push({
        ...at('key'),
        message: `a literal ${key} in YAML is refused (config files get copied, committed and mailed)`,
        fix: `put it in the environment and write ${key}_env: ${name}, or in a file only malist can read and write ${key}_file: /etc/malist/${name.toLowerCase()}`,
      });
      continue;
    }
    const secret = /^(.*)_(env|file)$/.exec(key);
    if (secret && isSecretAt(path, secret[1]!)) {
      const target = secret[1]!;
      if (typeof v !== 'string' || v === '') {
        out[target] = UNRESOLVED;
        problems.push({
          ...at('value'),
          message: `expected ${secret[2] === 'env' ? 'an environment variable name' : 'a file path'}`,
          fix: `e.g. ${key}: ${secret[2] === 'env' ? 'MALIST_SMTP_PASSWORD' : '/etc/malist/smtp.password'}`,
        });
        continue;
      }
      if (secret[2] === 'env') {
        const found = ctx.env[v];
        if (found === undefined || found === '') {
          out[target] = UNRESOLVED;
          problems.push({
            ...at('value'),
            message: `environment variable ${v} is not set`,
            fix: `export ${v} where malist runs (for cron: in the crontab or a wrapper script), or use ${target}_file:`,
          });
          continue;
        }
        out[target] = found;
      } else {
        const file = isAbsolute(v) ? v : resolve(ctx.baseDir, v);
        try {
          out[target] = (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
        } catch (error) {
          out[target] = UNRESOLVED;
          problems.push({
            ...at('value'),
            message: `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
            fix: 'create the file (mode 0600, owned by the user malist runs as) or fix the path',
          });
        }
      }
      continue;
    }
    // A CA is a file to read: `ca_file`, and the older SMTP `tls: { ca }` unless it is PEM text.
    const isCa =
      key === 'ca_file' ||
      (key === 'ca' &&
        path[path.length - 1] === 'tls' &&
        typeof v === 'string' &&
        !v.includes('-----BEGIN'));
    if ((PATH_KEY.test(key) || isCa) && typeof v === 'string' && v !== '') {
      const file = isAbsolute(v) ? v : resolve(ctx.baseDir, v);
      out[key] = file;
      if (isCa) {
        const problem = await caFileProblem(file);
        if (problem) problems.push({ ...at('value'), ...problem });
      }
      continue;
    }
    out[key] = await resolveOptions(v, here, ctx, problems);
  }
  return out;
}
