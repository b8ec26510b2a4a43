/**
 * Where held posts and moderators' decisions live. `play()` stores a held post in
 * `STATE/held/<list>/` (bytes as fetched + JSON meta). A decision is written durably to
 * `STATE/moderation/<list>/decisions/<id>.json` before anything else happens, so a post is
 * decided once, whoever asks again (a replayed token, the CLI); the decided post moves to
 * `STATE/held/<list>/done/`, where a crash replay can still find it.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ListSettings } from '../list/settings.ts';
import { createListMail } from '../mail/list-mail.ts';
import type { NoticeOutlet } from '../notices/send.ts';
import { writeFileDurable } from '../state/durable.ts';
import { MailStore, type StoredMeta } from '../state/mail-store.ts';
import { safeName } from '../state/safe-name.ts';
import type { ListMail, Processor } from '../types.ts';

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
}

export function heldStore(ctx: ModerationContext, list: string): MailStore {
  return new MailStore(join(ctx.stateDir, 'held', safeName(list)));
}

export function doneStore(ctx: ModerationContext, list: string): MailStore {
  return new MailStore(join(ctx.stateDir, 'held', safeName(list), 'done'));
}

function moderationDir(ctx: ModerationContext, list: string): string {
  return join(ctx.stateDir, 'moderation', safeName(list));
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export function readDecision(
  ctx: ModerationContext,
  list: string,
  heldId: string,
): Promise<Decision | undefined> {
  return readJson(join(moderationDir(ctx, list), 'decisions', `${safeName(heldId)}.json`));
}

/** Records a decision (and, for a command mail, which posts it decided). */
export async function writeDecision(
  ctx: ModerationContext,
  list: string,
  decision: Decision,
): Promise<void> {
  const dir = moderationDir(ctx, list);
  if (decision.request) {
    const path = join(dir, 'requests', `${safeName(decision.request)}.json`);
    const ids = (await readJson<string[]>(path)) ?? [];
    if (!ids.includes(decision.heldId))
      await writeFileDurable(path, JSON.stringify([...ids, decision.heldId]));
  }
  await writeFileDurable(
    join(dir, 'decisions', `${safeName(decision.heldId)}.json`),
    JSON.stringify(decision),
  );
}

/** The held posts a command mail decided. */
export async function decidedBy(
  ctx: ModerationContext,
  list: string,
  request: string,
): Promise<string[]> {
  return (
    (await readJson<string[]>(
      join(moderationDir(ctx, list), 'requests', `${safeName(request)}.json`),
    )) ?? []
  );
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
