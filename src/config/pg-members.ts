/**
 * `member_store: postgres` in a list's YAML: the list's members as rows in the database
 * `storage:` in malist.yaml names (src/members/pg-store.ts). The list file stays the list's
 * configuration; `malist storage migrate --to postgres` moves members already written in
 * the list file (or its members_file) into the rows.
 */

import type { Plan } from './build.ts';
import type { LoadedConfig, LoadedList } from './load.ts';
import type { ConfigProblem } from './problem.ts';
import { databaseFor, storageOf } from './storage.ts';

/** The plan of a list's PostgreSQL member store, or a problem naming the fix. */
export async function postgresMemberPlan(
  list: LoadedList,
  main: LoadedConfig['main'],
  problems: ConfigProblem[],
): Promise<Plan | undefined> {
  const spec = (list.source.value as { member_store?: unknown }).member_store;
  const at = (path: PropertyKey[], key: string) => ({
    file: list.source.file,
    ...list.source.locate(path),
    key,
  });
  const extra =
    typeof spec === 'object' && spec !== null ? Object.keys(spec).filter((k) => k !== 'type') : [];
  if (extra.length > 0) {
    problems.push({
      ...at(['member_store', extra[0]!], `member_store.${extra[0]}`),
      message: `member_store: postgres takes no options (${extra.join(', ')})`,
      fix: 'write member_store: postgres; the database is the one storage: in malist.yaml names',
    });
    return undefined;
  }
  const choice = storageOf(main);
  if (choice.type !== 'postgres') {
    problems.push({
      ...at(['member_store'], 'member_store'),
      message: 'postgres needs a database, and malist.yaml has storage: files',
      fix: 'set storage: {type: postgres, url_env: DATABASE_URL} in malist.yaml, or keep the members in the list file',
    });
    return undefined;
  }
  const { default: factory } = await import('../members/pg-store.ts');
  return {
    kind: 'member-store',
    type: 'postgres',
    factory: factory as Plan['factory'],
    options: { list: list.name, database: () => databaseFor(choice) },
    where: () => `${list.source.file}:${list.source.locate(['member_store']).line}`,
  };
}
