/**
 * `malist storage`: where malist keeps its state, and the PostgreSQL schema's versions.
 *
 *   malist storage status     the storage in use; on PostgreSQL each part's version
 *   malist storage upgrade    brings the database's tables up to this malist's version
 *   malist storage migrate --to postgres|files [--dry-run]   copies everything the stores
 *                             keep: the journal, members, bounce state, memos, counts,
 *                             counters, digests, held mail, decisions, tokens, the web's
 *                             admins and API tokens, and the queues
 *                             (storage-migrate.ts and its parts storage-migrate-*.ts)
 */
import { openConfig, printProblems } from '../config/open.ts';
import { closeDatabases, databaseFor, storageOf } from '../config/storage.ts';
import { SCHEMA_PARTS } from '../config/storage-pg.ts';
import { schemaVersions, upgradeSchema } from '../state/pg.ts';
import { commandArgs } from './args.ts';
import { EX } from './exit-codes.ts';
import { describeMigration, migrateStorage } from './storage-migrate.ts';

export const usage = `usage: malist storage status|upgrade|migrate [options]

Where malist keeps its state (storage: in malist.yaml): files under state_dir, or PostgreSQL.

  status     the storage in use; on PostgreSQL, each part's schema version against this malist's
  upgrade    brings the database's tables to this malist's version (back the database up first);
             safe while other malist processes run: they wait for it
  migrate --to postgres|files [--dry-run]
             copies the journal of handled mail, the members of each list with
             member_store: postgres, each list's bounce state, request memos, notice counts,
             post counters, digests, held and decided posts with the moderators' decisions,
             the confirmation tokens (pending ones keep their expiry, used ones stay used),
             the web's admins (password hashes) and API tokens (revoked ones stay revoked),
             and each type: queue distributor's waiting entries, done records and dead
             letters (its dir: spool <-> its name: in the database; every recipient's state
             and last answer kept, so nobody is sent twice and malist trace answers the same)
             from the files under state_dir to the database that storage: names (--to
             postgres), or back (--to files); nothing is deleted, what is there already is
             kept, a second run copies nothing, and the target is counted afterwards, one
             line a part (exit 1 if short). --dry-run: the counts only. Stop the malist
             processes first.

options:
  --config DIR    the configuration directory (malist.yaml, lists/)
  --to WHERE      migrate: postgres or files
  --dry-run       migrate: count, write nothing
  --json          one JSON document on stdout
  -h, --help      this text
`;

export default async function storage(argv: string[]): Promise<number> {
  const parsed = commandArgs(
    'storage',
    argv,
    {
      config: { type: 'string', short: 'c' },
      json: { type: 'boolean' },
      to: { type: 'string' },
      'dry-run': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    usage,
    process.stderr,
  );
  if (!parsed) return EX.USAGE;
  const [action] = parsed.positionals;
  if (parsed.values.help) {
    process.stdout.write(usage);
    return EX.OK;
  }
  if (action !== 'status' && action !== 'upgrade' && action !== 'migrate') {
    process.stderr.write(`malist storage: expected status, upgrade or migrate\n\n${usage}`);
    return EX.USAGE;
  }
  const to = parsed.values.to;
  if (action === 'migrate' && to !== 'postgres' && to !== 'files') {
    process.stderr.write(`malist storage migrate: --to postgres or --to files\n\n${usage}`);
    return EX.USAGE;
  }
  const { config } = await openConfig({
    ...(parsed.values.config ? { dir: parsed.values.config } : {}),
    lists: action === 'migrate',
  });
  if (config.problems.length > 0 || !config.main) {
    printProblems(config, process.stderr);
    return EX.CONFIG;
  }
  const choice = storageOf(config.main);
  const print = (json: unknown, text: string) =>
    process.stdout.write(parsed.values.json ? `${JSON.stringify(json)}\n` : text);
  if (action === 'migrate' && choice.type === 'files') {
    process.stderr.write(
      'malist storage migrate: malist.yaml has storage: files; set storage: {type: postgres, url_env: DATABASE_URL} first (the database to migrate to or from)\n',
    );
    return EX.CONFIG;
  }
  if (choice.type === 'files') {
    print(
      { storage: 'files', state_dir: config.main.state_dir },
      `storage: files in ${config.main.state_dir} (nothing to upgrade)\n`,
    );
    return EX.OK;
  }
  try {
    const db = await databaseFor(choice);
    if (action === 'migrate') {
      const dryRun = parsed.values['dry-run'] === true;
      const where = to as 'postgres' | 'files';
      const lines = await migrateStorage(config, choice, where, dryRun);
      print(
        { storage: 'postgres', database: db.label, to: where, dry_run: dryRun, parts: lines },
        describeMigration(lines, where === 'postgres' ? `postgres ${db.label}` : 'files', dryRun),
      );
      return lines.some((l) => l.target !== undefined && l.target < l.source) ? 1 : EX.OK;
    }
    if (action === 'upgrade') {
      const done = await upgradeSchema(db, SCHEMA_PARTS);
      print(
        { storage: 'postgres', database: db.label, upgraded: done },
        `${done.map((d) => `${d.part}: ${d.from === d.to ? `at version ${d.to}` : `version ${d.from} → ${d.to}`}\n`).join('')}storage: postgres ${db.label} is up to date\n`,
      );
      return EX.OK;
    }
    const versions = await schemaVersions(db, SCHEMA_PARTS);
    const behind = versions.filter((v) => v.version !== v.latest);
    print(
      { storage: 'postgres', database: db.label, parts: versions },
      `storage: postgres ${db.label}\n${versions
        .map(
          (v) =>
            `  ${v.part}: version ${v.version}${v.version === v.latest ? '' : v.version === 0 ? ` (not created: this malist creates version ${v.latest})` : ` (this malist: ${v.latest}; run malist storage upgrade)`}\n`,
        )
        .join('')}`,
    );
    return behind.some((v) => v.version > 0) ? EX.CONFIG : EX.OK;
  } catch (error) {
    process.stderr.write(`malist storage: ${(error as Error).message}\n`);
    return EX.TEMPFAIL;
  } finally {
    await closeDatabases();
  }
}
