/**
 * `malist storage migrate`'s part for the web's own credentials (storage-migrate.ts runs
 * it): site admins' password hashes and REST API tokens (their SHA-256 and scopes: a token
 * made before the migration keeps working after it, and no secret is ever read or written).
 *
 * Like the rest of the migration it copies and never deletes at the source, and only moves
 * forward at the target: an admin whose password was changed there as late or later keeps
 * it, a token revoked at the source is revoked at the target too, and one revoked at the
 * target is never brought back by a copy. A second run copies nothing.
 */
import { webCredentialsFor } from '../config/storage.ts';
import type { ApiToken, KeptAdmin, WebCredentials } from '../state/web-credentials.ts';
import type { MigrationLine } from './storage-migrate.ts';
import { copyEach, type MigratePart, sides } from './storage-migrate-each.ts';

function copyAdmins(from: KeptAdmin[], to: WebCredentials, dryRun: boolean) {
  return copyEach(
    from,
    async () => {
      const there = new Map((await to.kept()).admins.map((a) => [a.user, a.changed]));
      return (a: KeptAdmin) => (there.get(a.user) ?? '') >= a.changed;
    },
    (a) => to.restoreAdmin(a),
    dryRun,
  );
}

/** What the target holds of a token id: in force, revoked, or nothing. */
async function tokenIds(to: WebCredentials): Promise<{ live: Set<string>; revoked: Set<string> }> {
  return {
    live: new Set((await to.tokens()).map((t) => t.id)),
    revoked: new Set((await to.kept()).revoked),
  };
}

/** Moves the web's admins and API tokens of `config` towards `to`; one line a part. */
export const migrateWebCredentials: MigratePart = async (config, to, dryRun) => {
  const [from, into] = await sides(config, to, webCredentialsFor);
  const { admins, revoked } = await from.kept();
  // Revocations first: a token revoked anywhere is never in force again.
  const revocations = await copyEach(
    revoked,
    async () => {
      const { revoked: gone } = await tokenIds(into);
      return (id: string) => gone.has(id);
    },
    (id) => into.restoreRevoked(id),
    dryRun,
  );
  const tokens = await copyEach(
    await from.tokens(),
    async () => {
      const { live, revoked: gone } = await tokenIds(into);
      return (t: ApiToken) => live.has(t.id) || gone.has(t.id);
    },
    (t) => into.restoreToken(t),
    dryRun,
  );
  const lines: MigrationLine[] = [
    {
      what: 'web-admins',
      label: 'web admins (password hashes)',
      ...(await copyAdmins(admins, into, dryRun)),
    },
    { what: 'web-tokens', label: 'web API tokens', ...tokens },
    { what: 'web-revoked', label: 'revoked web API tokens', ...revocations },
  ];
  // A part with nothing at the source says nothing.
  return lines.filter((l) => l.source > 0);
};
