/**
 * The web's own credentials, in STATE/web/ with mode 0600: site admins' passwords
 * (`admins.json`, scrypt from node:crypto with a salt each; `malist web passwd`) and REST
 * API tokens (`api-tokens.json`, only a SHA-256 of each token is kept; `malist web token
 * create`). A token is shown once, when it is made. Both files change under a file lock.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileDurable } from './durable.ts';
import { withFileLock } from './lock.ts';

const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 };

interface AdminRecord {
  /** `scrypt$N$r$p$SALT$HASH` (base64). */
  hash: string;
  changed: string;
}

export interface ApiToken {
  /** A short public id (`tok_…`), for lists and revocation. */
  id: string;
  /** What it may touch: `admin`, `list:NAME` (read and write) or `list:NAME:read`. */
  scopes: string[];
  /** Who or what it is for. */
  name?: string;
  created: string;
  /** SHA-256 of the token, hex. */
  sha256: string;
}

export const SCOPE = /^(admin|list:[a-z0-9][a-z0-9._-]{0,63}(:read)?)$/i;

function webDir(stateDir: string): string {
  return join(stateDir, 'web');
}

async function readJson<T>(file: string, empty: T): Promise<T> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return empty;
    throw error;
  }
}

/** `fn` under the file's lock, its folder (0700) made first. */
async function locked<T>(file: string, fn: () => Promise<T>): Promise<T> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  return withFileLock(file, fn);
}

function derive(password: string, salt: Buffer, params = SCRYPT): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(
      password,
      salt,
      params.keylen,
      { N: params.N, r: params.r, p: params.p, maxmem: 64 * 1024 * 1024 },
      (error, key) => (error ? reject(error) : resolve(key)),
    ),
  );
}

export class WebCredentials {
  readonly adminsFile: string;
  readonly tokensFile: string;
  constructor(stateDir: string) {
    this.adminsFile = join(webDir(stateDir), 'admins.json');
    this.tokensFile = join(webDir(stateDir), 'api-tokens.json');
  }

  /** Sets (or replaces) the password of admin `user`. */
  async setPassword(user: string, password: string): Promise<void> {
    if (!/^[a-z0-9._-]{1,64}$/i.test(user))
      throw new Error(`'${user}' cannot name an admin: letters, digits, . _ - (at most 64)`);
    if (password.length < 10) throw new Error('the password must have at least 10 characters');
    const salt = randomBytes(16);
    const key = await derive(password, salt);
    const { N, r, p } = SCRYPT;
    const hash = `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
    await locked(this.adminsFile, async () => {
      const admins = await readJson<Record<string, AdminRecord>>(this.adminsFile, {});
      admins[user] = { hash, changed: new Date().toISOString() };
      await writeFileDurable(this.adminsFile, JSON.stringify(admins, null, 1), { mode: 0o600 });
    });
  }

  /** True when `password` is admin `user`'s. Spends the same time for an unknown user. */
  async checkPassword(user: string, password: string): Promise<boolean> {
    const admins = await readJson<Record<string, AdminRecord>>(this.adminsFile, {});
    const record = Object.hasOwn(admins, user) ? admins[user] : undefined;
    const [, n, r, p, salt, hash] = (record?.hash ?? '').split('$');
    if (!record || !salt || !hash) {
      await derive(password, randomBytes(16));
      return false;
    }
    const expected = Buffer.from(hash, 'base64');
    const key = await derive(password, Buffer.from(salt, 'base64'), {
      N: Number(n),
      r: Number(r),
      p: Number(p),
      keylen: expected.length,
    });
    return timingSafeEqual(key, expected);
  }

  async admins(): Promise<string[]> {
    return Object.keys(await readJson<Record<string, AdminRecord>>(this.adminsFile, {}));
  }

  /** Makes a token with `scopes`; returns the token itself (shown once) and its record. */
  async createToken(scopes: string[], name?: string): Promise<{ token: string; record: ApiToken }> {
    if (scopes.length === 0) throw new Error('a token needs at least one --scope');
    for (const scope of scopes)
      if (!SCOPE.test(scope))
        throw new Error(`'${scope}' is not a scope: admin, list:NAME or list:NAME:read`);
    const token = `malist_${randomBytes(24).toString('base64url')}`;
    const record: ApiToken = {
      id: `tok_${randomBytes(6).toString('hex')}`,
      scopes,
      ...(name ? { name } : {}),
      created: new Date().toISOString(),
      sha256: createHash('sha256').update(token).digest('hex'),
    };
    await locked(this.tokensFile, async () => {
      const tokens = await readJson<ApiToken[]>(this.tokensFile, []);
      await writeFileDurable(this.tokensFile, JSON.stringify([...tokens, record], null, 1), {
        mode: 0o600,
      });
    });
    return { token, record };
  }

  async tokens(): Promise<ApiToken[]> {
    return readJson<ApiToken[]>(this.tokensFile, []);
  }

  /** The record of a presented token, or undefined. */
  async findToken(token: string): Promise<ApiToken | undefined> {
    const digest = Buffer.from(createHash('sha256').update(token).digest('hex'));
    return (await this.tokens()).find((t) => timingSafeEqual(Buffer.from(t.sha256), digest));
  }

  /** Revokes the token with public id `id`; false when there is none. */
  async revokeToken(id: string): Promise<boolean> {
    return locked(this.tokensFile, async () => {
      const tokens = await readJson<ApiToken[]>(this.tokensFile, []);
      const kept = tokens.filter((t) => t.id !== id);
      if (kept.length === tokens.length) return false;
      await writeFileDurable(this.tokensFile, JSON.stringify(kept, null, 1), { mode: 0o600 });
      return true;
    });
  }
}
