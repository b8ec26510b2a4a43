/**
 * Where held posts and moderators' decisions live. `play()` stores a held post in the
 * list's held store (files: `STATE/held/<list>/`, bytes as fetched + JSON meta; or
 * PostgreSQL rows: src/state/held-store.ts). A decision is claimed durably before anything
 * else happens, and the first claim wins, so a post is decided once, whoever asks again (a
 * replayed token, the CLI, another host); the decided post moves to the done store
 * (`STATE/held/<list>/done/`), where a crash replay can still find it.
 */
import { createHash } from 'node:crypto';
import type { ListSettings } from '../list/settings.ts';
import { createListMail } from '../mail/list-mail.ts';
import type { NoticeOutlet } from '../notices/send.ts';
import {
  type Decision,
  fileHeldStorage,
  type HeldStorage,
  type HeldStore,
  type ModerationAction,
} from '../state/held-store.ts';
import type { StoredMeta } from '../state/mail-store.ts';
import type { ListMail, Processor } from '../types.ts';

export type { Decision, ModerationAction };

export interface ModerationContext {
  /** The state directory (the one `play()` uses). */
  stateDir: string;
  /** The posting pipeline of a list (its single-list): a released post runs through it. */
  pipeline(list: string): Processor | undefined;
  /** For notices to posters (CLI decisions, expiry). */
  notices?: NoticeOutlet;
  /** Overrides of the notice texts, by key (see notices/templates.ts). */
  templates?: Partial<Record<string, string>>;
  /** The clock. @default Date.now */
  now?: () => number;
  /** Told of each decision once it is durable (webhooks); never fails the decision. */
  onDecision?(list: string, decision: Decision, meta: StoredMeta): Promise<void> | void;
  /**
   * Where held posts and decisions live (`storage:` picks it: src/config/storage.ts).
   * @default the files under stateDir
   */
  storage?: HeldStorage;
}

const fileStorages = new Map<string, HeldStorage>();

/** The context's held-mail storage (the files under its state directory unless it names one). */
export function heldStorage(ctx: ModerationContext): HeldStorage {
  if (ctx.storage) return ctx.storage;
  let files = fileStorages.get(ctx.stateDir);
  if (!files) {
    files = fileHeldStorage(ctx.stateDir);
    fileStorages.set(ctx.stateDir, files);
  }
  return files;
}

export function heldStore(ctx: ModerationContext, list: string): HeldStore {
  return heldStorage(ctx).held(list);
}

export function doneStore(ctx: ModerationContext, list: string): HeldStore {
  return heldStorage(ctx).done(list);
}

export function readDecision(
  ctx: ModerationContext,
  list: string,
  heldId: string,
): Promise<Decision | undefined> {
  return heldStorage(ctx).decision(list, heldId);
}

/**
 * Records a decision (and, for a command mail, which posts it decided) unless one stands
 * already; returns the one that stands and whether it is this one.
 */
export function claimDecision(
  ctx: ModerationContext,
  list: string,
  decision: Decision,
): Promise<{ decision: Decision; won: boolean }> {
  return heldStorage(ctx).claim(list, decision);
}

/** The held posts a command mail decided. */
export function decidedBy(
  ctx: ModerationContext,
  list: string,
  request: string,
): Promise<string[]> {
  return heldStorage(ctx).decidedBy(list, request);
}

/** A held post, wherever it is now (still held, or decided). */
export async function findHeld(
  ctx: ModerationContext,
  list: string,
  heldId: string,
): Promise<{ raw: Buffer; meta: StoredMeta; decided: boolean } | undefined> {
  for (const [store, decided] of [
    [heldStore(ctx, list), false],
    [doneStore(ctx, list), true],
  ] as const) {
    try {
      return { ...(await store.read(heldId)), decided };
    } catch {
      // not in this store
    }
  }
  return undefined;
}

/**
 * The released copy of a held post: its bytes as fetched, marked approved, under a key of
 * its own (the held key's journal entry says "held", and is final).
 */
export function releasedMail(raw: Buffer, meta: StoredMeta, by: string): ListMail {
  const mail = createListMail(raw, meta.origin);
  const key = createHash('sha256').update(`${mail.key}:released`).digest('hex');
  return { ...mail, key, ml_approved: by };
}

/** Moves a decided post from held/ to held/done/ (idempotent). */
export async function retire(
  ctx: ModerationContext,
  list: ListSettings,
  raw: Buffer,
  meta: StoredMeta,
  decision: Decision,
): Promise<void> {
  await doneStore(ctx, list.name).put(createListMail(raw, meta.origin), {
    reason: meta.reason,
    unit: meta.unit,
    list: list.name,
    extra: { decision },
  });
  await heldStore(ctx, list.name).remove(meta.id);
}
