/**
 * `malist storage`: where malist keeps its state, and the PostgreSQL schema's versions.
 *
 *   malist storage status     the storage in use; on PostgreSQL each part's version
 *   malist storage upgrade    brings the database's tables up to this malist's version
 */
import { openConfig, printProblems } from '../config/open.ts';
import { closeDatabases, databaseFor, SCHEMA_PARTS, storageOf } from '../config/storage.ts';
import { schemaVersions, upgradeSchema } from '../state/pg.ts';
import { commandArgs } from './args.ts';
import { EX } from './exit-codes.ts';

export const usage = `usage: malist storage status|upgrade [options]

Where malist keeps its state (storage: in malist.yaml): files under state_dir, or PostgreSQL.

  status     the storage in use; on PostgreSQL, each part's schema version against this malist's
  upgrade    brings the database's tables to this malist's version (back the database up first);
             safe while other malist processes run: they wait for it

options:
  --config DIR    the configuration directory (malist.yaml, lists/)
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
  if (action !== 'status' && action !== 'upgrade') {
    process.stderr.write(`malist storage: expected status or upgrade\n\n${usage}`);
    return EX.USAGE;
  }
  const { config } = await openConfig({
    ...(parsed.values.config ? { dir: parsed.values.config } : {}),
    lists: false,
  });
  if (config.problems.length > 0 || !config.main) {
    printProblems(config, process.stderr);
    return EX.CONFIG;
  }
  const choice = storageOf(config.main);
  const print = (json: unknown, text: string) =>
    process.stdout.write(parsed.values.json ? `${JSON.stringify(json)}\n` : text);
  if (choice.type === 'files') {
    print(
      { storage: 'files', state_dir: config.main.state_dir },
      `storage: files in ${config.main.state_dir} (nothing to upgrade)\n`,
    );
    return EX.OK;
  }
  try {
    const db = await databaseFor(choice);
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
