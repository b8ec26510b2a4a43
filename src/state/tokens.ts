/**
 * Pending confirmations (subscribe, unsubscribe, moderation): a token names one pending
 * action, is bound by HMAC to the list's secret, expires, and is kept durably — in a file
 * (`FilePendingStore`, the default) or a row (`PgPendingStore`, pg-tokens.ts): the HMAC and
 * the expiry are checked here, whatever keeps the actions.
 * A forged token fails the HMAC; an unknown or expired one finds nothing. Single use is
 * the caller's to enforce where the action has side effects (e.g. through the journal, so
 * a crash between acting and marking cannot lose the action nor repeat it).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurable } from './durable.ts';
import { safeName } from './safe-name.ts';

export interface Pending<T = Record<string, unknown>> {
  /** What the token confirms: 'subscribe', 'unsubscribe', 'moderate', … */
  kind: string;
  /** The list's short name. */
  list: string;
  /** What the action needs (the address, the held mail's id, …). */
  data: T;
  /** Milliseconds since the epoch after which the token is void. */
  expires: number;
  created: number;
}

const TOKEN = /^([0-9a-f]{32})-([0-9a-f]{24})$/;

/** Where pending actions are kept, by id (32 hex digits). */
export interface PendingStore {
  put(id: string, pending: Pending): Promise<void>;
  /** The pending action, unless unknown or used. */
  get(id: string): Promise<Pending | undefined>;
  /** Marks it used; true for exactly one of concurrent callers (across processes). */
  take(id: string): Promise<boolean>;
  /** Removes the unused actions past their expiry, and returns them. */
  expire(now: number): Promise<Pending[]>;
  /** Every action kept, pending or used, by id (for a migration); unreadable ones are left out. */
  entries(): Promise<KeptPending[]>;
  /**
   * Keeps an action as another store had it (a migration): a new id is written pending or
   * used; one kept already is left as it is, except that a used one makes it used (a token
   * used anywhere never confirms again). True when anything was written.
   */
  restore(kept: KeptPending): Promise<boolean>;
}

/** A kept action with its id, and whether it was used. */
export interface KeptPending {
  id: string;
  pending: Pending;
  used: boolean;
}

/** One JSON file a pending action in `dir`; a used one is renamed into `dir/used/`. */
export class FilePendingStore implements PendingStore {
  constructor(readonly dir: string) {}

  async put(id: string, pending: Pending): Promise<void> {
    await writeFileDurable(join(this.dir, `${id}.json`), JSON.stringify(pending), { mode: 0o600 });
  }

  get(id: string): Promise<Pending | undefined> {
    return readPending(join(this.dir, `${id}.json`));
  }

  /** Atomic rename, so of two concurrent consumers one wins. */
  async take(id: string): Promise<boolean> {
    try {
      await writeFileDurable(join(this.dir, 'used', '.keep'), '');
      await rename(join(this.dir, `${id}.json`), join(this.dir, 'used', `${safeName(id)}.json`));
      return true;
    } catch {
      return false;
    }
  }

  expire(now: number): Promise<Pending[]> {
    return removeExpired(this.dir, now);
  }

  async entries(): Promise<KeptPending[]> {
    const out: KeptPending[] = [];
    for (const used of [false, true]) {
      const dir = used ? join(this.dir, 'used') : this.dir;
      for (const { name, pending } of await readPendingFiles(dir))
        out.push({ id: name.slice(0, -'.json'.length), pending, used });
    }
    return out;
  }

  async restore({ id, pending, used }: KeptPending): Promise<boolean> {
    const safe = safeName(id);
    if (await readPending(join(this.dir, 'used', `${safe}.json`))) return false;
    if (await this.get(safe)) return used && this.take(safe);
    if (!used) {
      await this.put(safe, pending);
      return true;
    }
    await writeFileDurable(join(this.dir, 'used', `${safe}.json`), JSON.stringify(pending), {
      mode: 0o600,
    });
    return true;
  }
}

/** The pending action in a file, or undefined (absent, or half-written). */
async function readPending(path: string): Promise<Pending | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Pending;
  } catch {
    return undefined;
  }
}

/** The readable pending-action files in `dir` (none when it is absent). */
async function readPendingFiles(dir: string): Promise<Array<{ name: string; pending: Pending }>> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const out: Array<{ name: string; pending: Pending }> = [];
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    const pending = await readPending(join(dir, name));
    // unreadable: left for an operator
    if (pending) out.push({ name, pending });
  }
  return out;
}

export class TokenStore {
  private readonly store: PendingStore;
  /**
   * @param where the pending actions' store, or a directory for the files (one JSON each)
   * @param secret the HMAC key (from the list config's secret_file/secret_env); at least 16 bytes
   */
  constructor(
    where: string | PendingStore,
    private readonly secret: Buffer,
  ) {
    if (secret.length < 16) throw new Error('token store: the secret must be at least 16 bytes');
    this.store = typeof where === 'string' ? new FilePendingStore(where) : where;
  }

  private mac(id: string, kind: string, list: string, expires: number): string {
    return createHmac('sha256', this.secret)
      .update(`${id}\n${kind}\n${list}\n${expires}`)
      .digest('hex')
      .slice(0, 24);
  }

  /** Creates a pending action; returns its token. */
  async create<T extends Record<string, unknown>>(
    kind: string,
    list: string,
    data: T,
    ttlMs: number,
    now = Date.now(),
  ): Promise<string> {
    const id = randomBytes(16).toString('hex');
    const pending: Pending<T> = { kind, list, data, expires: now + ttlMs, created: now };
    await this.store.put(id, pending);
    return `${id}-${this.mac(id, kind, list, pending.expires)}`;
  }

  /** The pending action of a valid, unexpired token, or undefined (forged, unknown, expired, used). */
  async peek<T = Record<string, unknown>>(
    token: string,
    now = Date.now(),
  ): Promise<Pending<T> | undefined> {
    const match = TOKEN.exec(token.trim().toLowerCase());
    if (!match) return undefined;
    const [, id, mac] = match as unknown as [string, string, string];
    const pending = (await this.store.get(id)) as Pending<T> | undefined;
    if (!pending) return undefined;
    const expected = Buffer.from(this.mac(id, pending.kind, pending.list, pending.expires));
    if (!timingSafeEqual(expected, Buffer.from(mac))) return undefined;
    if (now > pending.expires) return undefined;
    return pending;
  }

  /**
   * Takes the token out of the store (of two concurrent consumers, in one process or many,
   * one wins). Returns the action only to the winner.
   */
  async consume<T = Record<string, unknown>>(
    token: string,
    now = Date.now(),
  ): Promise<Pending<T> | undefined> {
    const pending = await this.peek<T>(token, now);
    if (!pending) return undefined;
    const id = token.trim().toLowerCase().slice(0, 32);
    return (await this.store.take(id)) ? pending : undefined;
  }

  /** Removes expired pending actions; returns them so the caller can notify (held mail expiry). */
  async expire(now = Date.now()): Promise<Pending[]> {
    return this.store.expire(now);
  }
}

/** Deletes the pending-action files in `dir` past their expiry; returns what they held. */
async function removeExpired(dir: string, now: number): Promise<Pending[]> {
  const gone: Pending[] = [];
  for (const { name, pending } of await readPendingFiles(dir)) {
    if (now <= pending.expires) continue;
    try {
      await unlink(join(dir, name));
      gone.push(pending);
    } catch {
      // removed meanwhile
    }
  }
  return gone;
}

/**
 * Housekeeping without the secret (for `malist run`): deletes pending and used tokens past
 * their expiry under `dir` — an expired token confirms nothing, so nothing is lost.
 * Returns how many files went.
 */
export async function pruneTokens(dir: string, now = Date.now()): Promise<number> {
  const pending = await removeExpired(dir, now);
  const used = await removeExpired(join(dir, 'used'), now);
  return pending.length + used.length;
}
