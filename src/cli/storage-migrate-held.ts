/**
 * `malist storage migrate`'s part for moderation (storage-migrate.ts runs it): each list's
 * held posts and decided posts (bytes exactly as fetched, the meta with its reason and held
 * time, so `malist held expire` counts from when the post was held), its moderators'
 * decisions (with the command mails that made them), and the installation's confirmation
 * tokens — pending ones keep their expiry, used ones stay used.
 *
 * Like the rest of the migration it copies and never deletes at the source; at the target
 * it adds what is missing and only ever moves forward: a post decided at the source leaves
 * the target's held copy (it is decided there too, with its decision), a decision standing
 * at the target is kept (the first decision wins, as between processes), a token used at
 * the source is made used at the target (it never confirms again), and a post held or a
 * token pending at the source but decided or used at the target stays so. A second run
 * copies nothing.
 */
import { heldStorageFor, pendingStoreFor } from '../config/storage.ts';
import type { Decision, HeldStorage } from '../state/held-store.ts';
import type { KeptPending, PendingStore } from '../state/tokens.ts';
import type { MigrationLine } from './storage-migrate.ts';
import { copyEach, type MigratePart, sides } from './storage-migrate-each.ts';

interface HeldPost {
  id: string;
  decided: boolean;
}

/** A list's held and decided posts. */
async function copyPosts(from: HeldStorage, to: HeldStorage, list: string, dryRun: boolean) {
  const posts: HeldPost[] = [
    ...(await from.held(list).list()).map((m) => ({ id: m.id, decided: false })),
    ...(await from.done(list).list()).map((m) => ({ id: m.id, decided: true })),
  ];
  const has = async (store: 'held' | 'done', id: string) =>
    to[store](list)
      .read(id)
      .then(
        () => true,
        () => false,
      );
  return copyEach(
    posts,
    async () => async (p) => (await has('done', p.id)) || (!p.decided && (await has('held', p.id))),
    async (p) => {
      const { raw, meta } = await from[p.decided ? 'done' : 'held'](list).read(p.id);
      await to[p.decided ? 'done' : 'held'](list).restore(raw, meta);
      // Decided at the source: no longer waiting at the target either (as a decision moves it).
      if (p.decided) await to.held(list).remove(p.id);
      return true;
    },
    dryRun,
  );
}

/** A list's decisions, each with the command mails that decided its post. */
async function copyDecisions(from: HeldStorage, to: HeldStorage, list: string, dryRun: boolean) {
  const decisions = await from.decisions(list);
  const requests = await from.requests(list);
  const requestsOf = (d: Decision) =>
    requests.filter((r) => r.heldId === d.heldId).map((r) => r.request);
  return copyEach(
    decisions,
    async () => async (d) => {
      if (!(await to.decision(list, d.heldId))) return false;
      for (const request of requestsOf(d))
        if (!(await to.decidedBy(list, request)).includes(d.heldId)) return false;
      return true;
    },
    async (d) => {
      // The first claim stands (the target's own, if it has one); each command mail that
      // decided the post is recorded against the decision that stands.
      const { decision } = await to.claim(list, d);
      for (const request of requestsOf(d)) await to.claim(list, { ...decision, request });
      return true;
    },
    dryRun,
  );
}

/** Confirmation tokens: pending ones as they are, used ones used. */
async function copyTokens(from: PendingStore, to: PendingStore, dryRun: boolean) {
  return copyEach(
    await from.entries(),
    async () => {
      const kept = new Map((await to.entries()).map((k) => [k.id, k]));
      return (k: KeptPending) => {
        const there = kept.get(k.id);
        return there !== undefined && (there.used || !k.used);
      };
    },
    (k) => to.restore(k),
    dryRun,
  );
}

/** Moves the held mail, decisions and tokens of `config` towards `to`; one line a part. */
export const migrateModeration: MigratePart = async (config, to, dryRun) => {
  const [from, into] = await sides(config, to, heldStorageFor);
  const lines: MigrationLine[] = [];
  for (const { name } of config.lists) {
    lines.push(
      {
        what: `held:${name}`,
        label: `held and decided posts of ${name}`,
        ...(await copyPosts(from, into, name, dryRun)),
      },
      {
        what: `decisions:${name}`,
        label: `moderation decisions of ${name}`,
        ...(await copyDecisions(from, into, name, dryRun)),
      },
    );
  }
  const [tokensFrom, tokensTo] = await sides(config, to, pendingStoreFor);
  const tokens = await copyTokens(tokensFrom, tokensTo, dryRun);
  lines.push({ what: 'tokens', label: 'confirmation tokens', ...tokens });
  // A part with nothing at the source says nothing.
  return lines.filter((l) => l.source > 0);
};
