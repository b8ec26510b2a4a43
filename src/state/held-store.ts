/**
 * Where held posts and moderators' decisions live, behind one interface with two backends:
 * the files under `STATE/held/<list>/` and `STATE/moderation/<list>/` (the default), or
 * PostgreSQL rows (`storage: {type: postgres}`, pg-held.ts) that every host shares.
 *
 * A held post is its bytes as fetched and a JSON meta (mail-store.ts); a decided post moves
 * to the list's *done* store, where a crash replay can still find it. A decision is claimed
 * once: the first claim for a held id wins, in any process, and every later claim is handed
 * the winner.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ListMail } from '../types.ts';
import { writeFileDurable, writeFileDurableOnce } from './durable.ts';
import { MailStore, type StoredMeta, type StoreWhy } from './mail-store.ts';
import { safeName } from './safe-name.ts';

export type ModerationAction = 'approve' | 'reject' | 'discard' | 'expire';

export interface Decision {
  heldId: string;
  action: ModerationAction;
  /** Who decided: a moderator's address, `cli:<user>`, `expiry`. */
  by: string;
  /** The key of the command mail that decided, when a mail did. */
  request?: string;
  at: string;
}

/** The part of MailStore that held mail needs (MailStore is one). */
export interface HeldStore {
  put(mail: ListMail, why: StoreWhy): Promise<StoredMeta>;
  list(): Promise<StoredMeta[]>;
  /** Throws when there is no such entry. */
  read(id: string): Promise<{ raw: Buffer; meta: StoredMeta }>;
  remove(id: string): Promise<void>;
  /** Stores a post as another store had it (a migration): its bytes and meta, held time kept. */
  restore(raw: Buffer, meta: StoredMeta): Promise<void>;
}

/** Where one installation keeps held mail and decisions. */
export interface HeldStorage {
  /** The list's posts waiting for a decision. */
  held(list: string): HeldStore;
  /** The list's decided posts (kept a while for crash replay). */
  done(list: string): HeldStore;
  decision(list: string, heldId: string): Promise<Decision | undefined>;
  /**
   * Records `decision` unless one was recorded for its held id already; returns the one
   * that stands and whether it is this one (`won`: exactly one of racing claims, in any
   * process). A command mail's decisions are remembered under its key (`decidedBy`).
   */
  claim(list: string, decision: Decision): Promise<{ decision: Decision; won: boolean }>;
  /** The held posts a command mail decided. */
  decidedBy(list: string, request: string): Promise<string[]>;
  /** Every decision of the list (for a migration). */
  decisions(list: string): Promise<Decision[]>;
  /** Every command mail's decided posts of the list, as (request, held id) pairs. */
  requests(list: string): Promise<Array<{ request: string; heldId: string }>>;
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** The `.json` files in `dir`, sorted (none when it is absent). */
async function jsonNames(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  } catch {
    return [];
  }
}

/** The files under `stateDir` (what malist has always written). */
export function fileHeldStorage(stateDir: string): HeldStorage {
  const heldDir = (list: string) => join(stateDir, 'held', safeName(list));
  const moderationDir = (list: string) => join(stateDir, 'moderation', safeName(list));
  const decisionPath = (list: string, heldId: string) =>
    join(moderationDir(list), 'decisions', `${safeName(heldId)}.json`);
  const storage: HeldStorage = {
    held: (list) => new MailStore(heldDir(list)),
    done: (list) => new MailStore(join(heldDir(list), 'done')),
    decision: (list, heldId) => readJson(decisionPath(list, heldId)),
    async claim(list, decision) {
      const dir = moderationDir(list);
      if (decision.request) {
        const path = join(dir, 'requests', `${safeName(decision.request)}.json`);
        const ids = (await readJson<string[]>(path)) ?? [];
        if (!ids.includes(decision.heldId))
          await writeFileDurable(path, JSON.stringify([...ids, decision.heldId]));
      }
      // Of two processes deciding at once, one writes the decision; the other reads it.
      const won = await writeFileDurableOnce(
        decisionPath(list, decision.heldId),
        JSON.stringify(decision),
      );
      if (won) return { decision, won };
      return { decision: (await storage.decision(list, decision.heldId)) ?? decision, won };
    },
    async decidedBy(list, request) {
      return (
        (await readJson<string[]>(
          join(moderationDir(list), 'requests', `${safeName(request)}.json`),
        )) ?? []
      );
    },
    async decisions(list) {
      const dir = join(moderationDir(list), 'decisions');
      const out: Decision[] = [];
      for (const name of await jsonNames(dir)) {
        const decision = await readJson<Decision>(join(dir, name));
        if (decision) out.push(decision);
      }
      return out;
    },
    async requests(list) {
      const dir = join(moderationDir(list), 'requests');
      const out: Array<{ request: string; heldId: string }> = [];
      for (const name of await jsonNames(dir)) {
        const request = name.slice(0, -'.json'.length);
        for (const heldId of (await readJson<string[]>(join(dir, name))) ?? [])
          out.push({ request, heldId });
      }
      return out;
    },
  };
  return storage;
}
