/**
 * The web's own credentials: site admins' passwords (`malist web passwd`; scrypt from
 * node:crypto, a salt each) and REST API tokens (`malist web token create`; only a SHA-256
 * of each token is kept, the token is shown once, when it is made). `WebCredentials` is what
 * the web and `malist web` use; the composition root (config/storage.ts) picks where they
 * live: `FileWebCredentials` here, in STATE/web/ with mode 0600 (each host its own), or
 * `PgWebCredentials` (pg-web-credentials.ts), rows every host sharing the database reads.
 *
 * A revoked token's id is remembered (a tombstone), so a migration run again from an older
 * copy never brings it back. Tokens never expire, so no lifetime bounds how long a copy may
 * still hold one: tombstones are trimmed after a fixed age (`REVOKED_KEEP_MS`, 90 days, by
 * `malist run`'s housekeeping), and the store remembers the newest `created` of the tokens
 * it trimmed. A restore of a token created then or earlier that the store does not hold is
 * refused: trimming never brings a revoked token back; at worst a migration run again long
 * after refuses an old token that was never revoked, and its owner makes a new one.
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

/** An admin as a store keeps them (for a migration): the hash, never the password. */
export interface KeptAdmin extends AdminRecord {
  user: string;
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

/** Where the web's credentials live; every host reading one place sees every change at once. */
export interface WebCredentials {
  /** Sets (or replaces) the password of admin `user`. */
  setPassword(user: string, password: string): Promise<void>;
  /** True when `password` is admin `user`'s. Spends the same time for an unknown user. */
  checkPassword(user: string, password: string): Promise<boolean>;
  admins(): Promise<string[]>;
  /** Makes a token with `scopes`; returns the token itself (shown once) and its record. */
  createToken(scopes: string[], name?: string): Promise<{ token: string; record: ApiToken }>;
  /** The tokens in force. */
  tokens(): Promise<ApiToken[]>;
  /** The record of a presented token in force, or undefined. */
  findToken(token: string): Promise<ApiToken | undefined>;
  /** Revokes the token with public id `id`; false when there is none. */
  revokeToken(id: string): Promise<boolean>;
  /** For a migration: the admins with their hashes, and the ids of revoked tokens. */
  kept(): Promise<{ admins: KeptAdmin[]; revoked: string[] }>;
  /** Keeps an admin as another store had them, unless this one's was changed as late or later. */
  restoreAdmin(admin: KeptAdmin): Promise<boolean>;
  /** Keeps a token as another store had it, unless its id is here already or was revoked here. */
  restoreToken(record: ApiToken): Promise<boolean>;
  /** Revokes the id here too (remembered even when this store never had it). */
  restoreRevoked(id: string): Promise<boolean>;
  /**
   * Forgets the tombstones of tokens revoked before `before` (ms), remembering the newest
   * `created` among them so `restoreToken` refuses those tokens still; how many went.
   */
  trimRevoked(before: number): Promise<number>;
}

/** How long a revoked token's tombstone is kept: 90 days (see the module comment). */
export const REVOKED_KEEP_MS = 90 * 24 * 3600 * 1000;

/**
 * A tombstone in the files' revoked list: an id (written before tombstones had times: its
 * 90 days count from the first trim that sees it), or the id, when it was revoked and when
 * the token was made.
 */
type Tombstone = string | { id: string; at: string; created?: string };

const idOf = (t: Tombstone) => (typeof t === 'string' ? t : t.id);

/** The tombstone of `id` revoked now, with when `token` (when this store held it) was made. */
const tombstoneOf = (id: string, token?: ApiToken): Tombstone => ({
  id,
  at: new Date().toISOString(),
  ...(token ? { created: token.created } : {}),
});

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

function checkUser(user: string): void {
  if (!/^[a-z0-9._-]{1,64}$/i.test(user))
    throw new Error(`'${user}' cannot name an admin: letters, digits, . _ - (at most 64)`);
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

/** The stored form of `user`'s new `password` (`scrypt$N$r$p$SALT$HASH`); checks both. */
export async function hashPassword(user: string, password: string): Promise<string> {
  checkUser(user);
  if (password.length < 10) throw new Error('the password must have at least 10 characters');
  const salt = randomBytes(16);
  const key = await derive(password, salt);
  const { N, r, p } = SCRYPT;
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** True when `password` matches `hash`; spends a derivation's time when there is none. */
export async function passwordMatches(
  hash: string | undefined,
  password: string,
): Promise<boolean> {
  const [, n, r, p, salt, expectedB64] = (hash ?? '').split('$');
  if (!salt || !expectedB64) {
    await derive(password, randomBytes(16));
    return false;
  }
  const expected = Buffer.from(expectedB64, 'base64');
  const key = await derive(password, Buffer.from(salt, 'base64'), {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    keylen: expected.length,
  });
  return timingSafeEqual(key, expected);
}

/** The SHA-256 of a presented token, hex (what the stores keep and look up). */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A new token with `scopes` (checked) and its record, for a store to keep. */
export function newToken(scopes: string[], name?: string): { token: string; record: ApiToken } {
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
    sha256: tokenDigest(token),
  };
  return { token, record };
}

export class FileWebCredentials implements WebCredentials {
  readonly adminsFile: string;
  readonly tokensFile: string;
  /** The revoked tokens (a JSON array of `Tombstone`s). */
  readonly revokedFile: string;
  /** `{"created_upto": ISO}`: the newest `created` of a token whose tombstone was trimmed. */
  readonly trimmedFile: string;
  constructor(stateDir: string) {
    this.adminsFile = join(webDir(stateDir), 'admins.json');
    this.tokensFile = join(webDir(stateDir), 'api-tokens.json');
    this.revokedFile = join(webDir(stateDir), 'api-tokens-revoked.json');
    this.trimmedFile = join(webDir(stateDir), 'api-tokens-trimmed.json');
  }

  private readAdmins(): Promise<Record<string, AdminRecord>> {
    return readJson<Record<string, AdminRecord>>(this.adminsFile, {});
  }

  /** Changes the admins under the file's lock; `change` returns false to write nothing. */
  private changeAdmins(change: (admins: Record<string, AdminRecord>) => boolean): Promise<boolean> {
    return locked(this.adminsFile, async () => {
      const admins = await this.readAdmins();
      if (!change(admins)) return false;
      await writeFileDurable(this.adminsFile, JSON.stringify(admins, null, 1), { mode: 0o600 });
      return true;
    });
  }

  /** Changes the tokens (and the revoked ones) under the tokens file's lock. */
  private changeTokens(
    change: (
      tokens: ApiToken[],
      revoked: Tombstone[],
    ) => { tokens?: ApiToken[]; revoked?: Tombstone[] } | false,
  ): Promise<boolean> {
    return locked(this.tokensFile, async () => {
      const changed = change(
        await this.tokens(),
        await readJson<Tombstone[]>(this.revokedFile, []),
      );
      if (!changed) return false;
      // The tombstone first: a crash between the two writes leaves the token refused on migration.
      if (changed.revoked)
        await writeFileDurable(this.revokedFile, JSON.stringify(changed.revoked), { mode: 0o600 });
      if (changed.tokens)
        await writeFileDurable(this.tokensFile, JSON.stringify(changed.tokens, null, 1), {
          mode: 0o600,
        });
      return true;
    });
  }

  async setPassword(user: string, password: string): Promise<void> {
    const hash = await hashPassword(user, password);
    await this.changeAdmins((admins) => {
      admins[user] = { hash, changed: new Date().toISOString() };
      return true;
    });
  }

  async checkPassword(user: string, password: string): Promise<boolean> {
    const admins = await this.readAdmins();
    return passwordMatches(Object.hasOwn(admins, user) ? admins[user]?.hash : undefined, password);
  }

  async admins(): Promise<string[]> {
    return Object.keys(await this.readAdmins());
  }

  async createToken(scopes: string[], name?: string): Promise<{ token: string; record: ApiToken }> {
    const made = newToken(scopes, name);
    await this.changeTokens((tokens) => ({ tokens: [...tokens, made.record] }));
    return made;
  }

  async tokens(): Promise<ApiToken[]> {
    return readJson<ApiToken[]>(this.tokensFile, []);
  }

  async findToken(token: string): Promise<ApiToken | undefined> {
    const digest = Buffer.from(tokenDigest(token));
    return (await this.tokens()).find((t) => timingSafeEqual(Buffer.from(t.sha256), digest));
  }

  revokeToken(id: string): Promise<boolean> {
    return this.changeTokens((tokens, revoked) => {
      const gone = tokens.find((t) => t.id === id);
      return (
        gone !== undefined && {
          tokens: tokens.filter((t) => t !== gone),
          revoked: [...revoked, tombstoneOf(id, gone)],
        }
      );
    });
  }

  async kept(): Promise<{ admins: KeptAdmin[]; revoked: string[] }> {
    const admins = Object.entries(await this.readAdmins()).map(([user, r]) => ({ user, ...r }));
    return { admins, revoked: (await readJson<Tombstone[]>(this.revokedFile, [])).map(idOf) };
  }

  /** The newest `created` of a trimmed token ('' when none was trimmed). */
  private async trimmedUpTo(): Promise<string> {
    return (await readJson<{ created_upto?: string }>(this.trimmedFile, {})).created_upto ?? '';
  }

  async trimRevoked(before: number): Promise<number> {
    // Nothing revoked (or no web state at all): nothing to lock, no folder made.
    if ((await readJson<Tombstone[]>(this.revokedFile, [])).length === 0) return 0;
    let trimmed = 0;
    await locked(this.tokensFile, async () => {
      const revoked = await readJson<Tombstone[]>(this.revokedFile, []);
      const now = new Date().toISOString();
      const cut = new Date(before).toISOString();
      const kept: Tombstone[] = [];
      let upTo = await this.trimmedUpTo();
      for (const t of revoked) {
        // A bare id (written before tombstones had times) starts its time now.
        if (typeof t === 'string') kept.push({ id: t, at: now });
        else if (t.at >= cut) kept.push(t);
        else {
          trimmed++;
          // An id this store never held had no `created`: it was made before it was revoked.
          const created = t.created ?? t.at;
          if (created > upTo) upTo = created;
        }
      }
      if (trimmed === 0 && !revoked.some((t) => typeof t === 'string')) return;
      // The mark first: a crash between the two writes refuses, never brings back.
      if (trimmed > 0)
        await writeFileDurable(this.trimmedFile, JSON.stringify({ created_upto: upTo }), {
          mode: 0o600,
        });
      await writeFileDurable(this.revokedFile, JSON.stringify(kept), { mode: 0o600 });
    });
    return trimmed;
  }

  restoreAdmin({ user, hash, changed }: KeptAdmin): Promise<boolean> {
    checkUser(user);
    return this.changeAdmins((admins) => {
      const there = Object.hasOwn(admins, user) ? admins[user] : undefined;
      if (there && there.changed >= changed) return false;
      admins[user] = { hash, changed };
      return true;
    });
  }

  async restoreToken(record: ApiToken): Promise<boolean> {
    // Made no later than a token whose tombstone was trimmed: it may be that one.
    if (record.created <= (await this.trimmedUpTo())) return false;
    return this.changeTokens(
      (tokens, revoked) =>
        !revoked.some((t) => idOf(t) === record.id) &&
        !tokens.some((t) => t.id === record.id) && { tokens: [...tokens, record] },
    );
  }

  restoreRevoked(id: string): Promise<boolean> {
    return this.changeTokens((tokens, revoked) => {
      if (revoked.some((t) => idOf(t) === id)) return false;
      return {
        tokens: tokens.filter((t) => t.id !== id),
        revoked: [
          ...revoked,
          tombstoneOf(
            id,
            tokens.find((t) => t.id === id),
          ),
        ],
      };
    });
  }
}
